# METADATA
# description: |
#   Checks on each statement by itself: it was parsed, and its category is one the caller
#   may run. Every statement is judged; one deny denies the whole request.
package sluice.statements

import data.sluice.identity

deny_empty contains reason if {
	count(input.sql.statements) == 0
	reason := {
		"code": "no_statements",
		"message": "the request holds no SQL statement",
		"rule": "sluice.statements.deny_empty",
	}
}

# Nothing is known about an unparsed statement: it could touch any table.
deny_unparsed contains reason if {
	some statement in input.sql.statements
	statement.parsed == false
	reason := {
		"code": "statement_unparsed",
		"message": sprintf("statement %d could not be parsed: %s", [
			statement.index,
			object.get(statement, "error", "no parser error given"),
		]),
		"rule": "sluice.statements.deny_unparsed",
		"statement": statement.index,
	}
}

# sql.parsed false with every statement claiming success is inconsistent: fail closed.
deny_sql_unparsed contains reason if {
	input.sql.parsed == false
	count(deny_unparsed) == 0
	reason := {
		"code": "sql_unparsed",
		"message": "the SQL text could not be parsed completely",
		"rule": "sluice.statements.deny_sql_unparsed",
	}
}

# An unparsed statement's category says nothing: deny_unparsed speaks for it.
deny_category contains reason if {
	some statement in input.sql.statements
	statement.parsed == true
	not statement.category in data.org.statements.allowed_categories
	reason := {
		"code": "category_denied",
		"message": sprintf("statement %d is %s (%s); only %s statements are allowed", [
			statement.index, statement.type, statement.category,
			concat(", ", data.org.statements.allowed_categories),
		]),
		"rule": "sluice.statements.deny_category",
		"statement": statement.index,
	}
}

# Agents act unattended: they run only what cannot change data (read by default).
deny_agent_category contains reason if {
	identity.is_agent
	some statement in input.sql.statements
	statement.category in data.org.statements.allowed_categories
	not statement.category in data.org.statements.agent_categories
	reason := {
		"code": "agent_category_denied",
		"message": sprintf("statement %d is %s (%s); agents may run only %s statements", [
			statement.index, statement.type, statement.category,
			concat(", ", data.org.statements.agent_categories),
		]),
		"rule": "sluice.statements.deny_agent_category",
		"statement": statement.index,
	}
}

# Functions that reach past the catalog (EXTERNAL_QUERY reads another database) escape every
# table check here.
deny_function contains reason if {
	some statement in input.sql.statements
	some name in statement.functions
	name in object.get(data.org.statements, "denied_functions", [])
	reason := {
		"code": "function_denied",
		"message": sprintf("statement %d calls %s, which is not allowed", [statement.index, name]),
		"rule": "sluice.statements.deny_function",
		"statement": statement.index,
	}
}

deny := union({deny_empty, deny_unparsed, deny_sql_unparsed, deny_category, deny_agent_category, deny_function})
