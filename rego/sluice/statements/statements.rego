# METADATA
# description: |
#   Checks on each statement by itself: it was parsed, and its category is one the caller
#   may run. Every statement is judged; one deny denies the whole request.
#   `deny` is one rule with a body per check (each reason's `rule` names the check), so an
#   evaluation builds one set here rather than one per check.
package sluice.statements

import data.sluice.identity

# deny_empty
deny contains reason if {
	count(input.sql.statements) == 0
	reason := {
		"code": "no_statements",
		"message": "the request holds no SQL statement",
		"rule": "sluice.statements.deny_empty",
	}
}

# deny_unparsed: nothing is known about an unparsed statement; it could touch any table.
deny contains _unparsed(statement) if {
	some statement in input.sql.statements
	statement.parsed == false
}

# deny_sql_unparsed: sql.parsed false with every statement claiming success is inconsistent:
# fail closed.
deny contains reason if {
	input.sql.parsed == false
	not _some_statement_unparsed
	reason := {
		"code": "sql_unparsed",
		"message": "the SQL text could not be parsed completely",
		"rule": "sluice.statements.deny_sql_unparsed",
	}
}

# deny_category: an unparsed statement's category says nothing; deny_unparsed speaks for it.
deny contains reason if {
	allowed := _categories("allowed_categories")
	some statement in input.sql.statements
	statement.parsed == true
	not statement.category in allowed
	reason := {
		"code": "category_denied",
		"message": concat("", [
			"statement ", format_int(statement.index, 10), " is ", statement.type,
			" (", statement.category, "); only ", concat(", ", allowed), " statements are allowed",
		]),
		"rule": "sluice.statements.deny_category",
		"statement": statement.index,
	}
}

# deny_agent_category: agents act unattended; they run only what cannot change data (read
# by default).
deny contains reason if {
	identity.is_agent
	allowed := _categories("allowed_categories")
	agent_categories := _categories("agent_categories")
	some statement in input.sql.statements
	statement.category in allowed
	not statement.category in agent_categories
	reason := {
		"code": "agent_category_denied",
		"message": concat("", [
			"statement ", format_int(statement.index, 10), " is ", statement.type,
			" (", statement.category, "); agents may run only ", concat(", ", agent_categories), " statements",
		]),
		"rule": "sluice.statements.deny_agent_category",
		"statement": statement.index,
	}
}

# deny_function: functions that reach past the catalog (EXTERNAL_QUERY reads another
# database) escape every table check here. Function names are the same in any case, as
# BigQuery reads them: `external_query` in the data denies EXTERNAL_QUERY.
deny contains reason if {
	denied := {upper(name) | some name in object.get(data.org.statements, "denied_functions", [])}
	some statement in input.sql.statements
	some name in statement.functions
	upper(name) in denied
	reason := {
		"code": "function_denied",
		"message": concat("", ["statement ", format_int(statement.index, 10), " calls ", name, ", which is not allowed"]),
		"rule": "sluice.statements.deny_function",
		"statement": statement.index,
	}
}

# A category list of the data; one that is missing or not a list allows nothing, so a data
# file without it denies every statement rather than allowing every one.
_categories(name) := list if {
	list := data.org.statements[name]
	is_array(list)
} else := []

_unparsed(statement) := {
	"code": "statement_unparsed",
	"message": concat("", [
		"statement ", format_int(statement.index, 10), " could not be parsed: ",
		object.get(statement, "error", "no parser error given"),
	]),
	"rule": "sluice.statements.deny_unparsed",
	"statement": statement.index,
}

_some_statement_unparsed if {
	some statement in input.sql.statements
	statement.parsed == false
	_unparsed(statement)
}
