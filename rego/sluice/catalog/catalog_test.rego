package sluice.catalog_test

import data.sluice.catalog
import data.sluice.testdata_test as td

_codes(reasons) := {reason.code | some reason in reasons}

_with_ref(request, id) := object.union(request, {"sql": object.union(request.sql, {"statements": [object.union(
	request.sql.statements[0],
	{"tables": [td.ref(id, "read")], "outputs": [], "columns": []},
)]})})

test_tables_indexed_by_id if {
	table := catalog.tables["acme-analytics.crm.customers"]
	table.dataset == "acme-analytics.crm"
	table.config.sensitive_columns.ssn == "last-4"
	count(catalog.tables) == 4
}

test_known_table_passes if {
	count(catalog.deny) == 0 with input as td.sales_select
}

test_unknown_project_denied if {
	_codes(catalog.deny) == {"unknown_project"} with input as _with_ref(td.sales_select, "other-project.sales.orders")
}

test_unknown_dataset_denied if {
	_codes(catalog.deny) == {"unknown_dataset"} with input as _with_ref(td.sales_select, "acme-analytics.hr.people")
}

test_unknown_table_denied if {
	_codes(catalog.deny) == {"unknown_table"} with input as _with_ref(td.sales_select, "acme-analytics.sales.returns")
}

test_unlisted_wildcard_denied if {
	_codes(catalog.deny) == {"unknown_table"} with input as _with_ref(td.sales_select, "acme-analytics.sales.orders*")
}

test_information_schema_denied if {
	reasons := catalog.deny with input as td.information_schema
	_codes(reasons) == {"information_schema_denied"}
	some reason in reasons
	reason.rule == "sluice.catalog.deny_unknown"
}

test_information_schema_allowed_when_listed if {
	tables := {"orders": {}, "information_schema.columns": {}}
	count(catalog.deny) == 0 with input as td.information_schema
		with data.org.projects["acme-analytics"].datasets.sales.tables as tables
}

# An id disagreeing with its parts could make id-based lookups see another table.
test_id_disagreeing_with_parts_denied if {
	request := _with_ref(td.sales_select, "acme-analytics.sales.orders")
	ref := object.union(td.ref("acme-analytics.sales.orders", "read"), {"table": "holidays"})
	statement := object.union(request.sql.statements[0], {"tables": [ref]})
	_codes(catalog.deny) == {"unknown_table"} with input as request with input.sql.statements as [statement]
}

test_unknown_billing_project_denied if {
	reasons := catalog.deny with input as td.sales_select with input.request.project as "someone-else"
	_codes(reasons) == {"unknown_billing_project"}
}

test_lineage_table_missing_from_tables_denied if {
	statement := object.union(td.crm_select.sql.statements[0], {"tables": []})
	reasons := catalog.deny with input as td.crm_select with input.sql.statements as [statement]
	_codes(reasons) == {"lineage_table_unlisted"}
}

test_unknown_lineage_candidate_missing_from_tables_denied if {
	output := object.union(td.crm_unknown_lineage.sql.statements[0].outputs[0], {"tables": [td.ledger]})
	statement := object.union(td.crm_unknown_lineage.sql.statements[0], {"outputs": [output]})
	reasons := catalog.deny with input as td.crm_unknown_lineage with input.sql.statements as [statement]
	_codes(reasons) == {"lineage_table_unlisted"}
}
