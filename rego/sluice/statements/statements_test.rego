package sluice.statements_test

import data.sluice.statements
import data.sluice.testdata_test as td

_codes(reasons) := {reason.code | some reason in reasons}

test_select_passes if {
	count(statements.deny) == 0 with input as td.sales_select
}

test_unparsed_statement_denied_with_parser_error if {
	reasons := statements.deny with input as td.unparsed
	_codes(reasons) == {"statement_unparsed"}
	some reason in reasons
	contains(reason.message, "Unexpected identifier \"SELEC\"")
	reason.statement == 0
	reason.rule == "sluice.statements.deny_unparsed"
}

test_unparsed_statement_without_error_still_denied if {
	statement := object.remove(td.unparsed.sql.statements[0], ["error"])
	reasons := statements.deny with input as td.unparsed with input.sql.statements as [statement]
	some reason in reasons
	contains(reason.message, "no parser error given")
}

test_sql_unparsed_without_failing_statement_denied if {
	reasons := statements.deny with input as td.sales_select with input.sql.parsed as false
	_codes(reasons) == {"sql_unparsed"}
}

test_no_statements_denied if {
	_codes(statements.deny) == {"no_statements"} with input as td.sales_select with input.sql.statements as []
}

test_ddl_denied_to_everyone if {
	reasons := statements.deny with input as td.drop_table
	_codes(reasons) == {"category_denied"}
	some reason in reasons
	contains(reason.message, "DROP_TABLE")
}

test_other_categories_denied if {
	every category in ["admin", "export", "script", "unknown"] {
		statement := object.union(td.drop_table.sql.statements[0], {"category": category})
		_codes(statements.deny) == {"category_denied"} with input as td.drop_table with input.sql.statements as [statement]
	}
}

test_allowed_categories_come_from_data if {
	count(statements.deny) == 0 with input as td.drop_table
		with data.org.statements.allowed_categories as ["read", "write", "ddl"]
}

test_human_writer_may_write if {
	count(statements.deny) == 0 with input as td.select_then_delete
}

test_agent_may_not_write if {
	reasons := statements.deny with input as td.with_identity(td.select_then_delete, td.agent)
	_codes(reasons) == {"agent_category_denied"}
	some reason in reasons
	reason.statement == 1
}

# Category lists missing from the data allow nothing: every statement is denied, not every one
# allowed.
test_missing_category_lists_deny if {
	_codes(statements.deny) == {"category_denied"} with input as td.drop_table
		with data.org.statements.allowed_categories as null
	_codes(statements.deny) == {"category_denied"} with input as td.sales_select
		with data.org.statements as {"denied_functions": ["EXTERNAL_QUERY"]}
	_codes(statements.deny) == {"agent_category_denied"} with input as td.sales_select
		with data.org.statements.agent_categories as null
}

test_denied_function_denied if {
	statement := object.union(td.sales_select.sql.statements[0], {"functions": ["EXTERNAL_QUERY"]})
	reasons := statements.deny with input as td.sales_select with input.sql.statements as [statement]
	_codes(reasons) == {"function_denied"}
}

# A function listed in the data in another case is the same function, as BigQuery reads it.
test_denied_function_listed_in_lower_case_denied if {
	statement := object.union(td.sales_select.sql.statements[0], {"functions": ["EXTERNAL_QUERY"]})
	reasons := statements.deny with input as td.sales_select with input.sql.statements as [statement]
		with data.org.statements.denied_functions as ["external_query"]
	_codes(reasons) == {"function_denied"}
}

test_other_functions_pass if {
	statement := object.union(td.sales_select.sql.statements[0], {"functions": ["SUM", "CONCAT"]})
	count(statements.deny) == 0 with input as td.sales_select with input.sql.statements as [statement]
}

test_agents_group_makes_an_agent if {
	reasons := statements.deny with input as td.with_identity(td.select_then_delete, td.grouped_agent)
	_codes(reasons) == {"agent_category_denied"}
}
