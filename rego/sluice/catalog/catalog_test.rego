package sluice.catalog_test

import data.sluice.catalog
import data.sluice.testdata_test as td

_codes(reasons) := {reason.code | some reason in reasons}

_with_ref(request, id) := object.union(request, {"sql": object.union(request.sql, {"statements": [object.union(
	request.sql.statements[0],
	{"tables": [td.ref(id, "read")], "outputs": [], "columns": []},
)]})})

test_table_looked_up_by_id if {
	config := catalog.table_config("acme-analytics.crm.customers")
	config.sensitive_columns.ssn == "last-4"
	config.unmasked_groups == ["pii-readers"]
	catalog.table_config("acme-analytics.sales.orders") == {}
	not catalog.table_config("acme-analytics.crm.prospects")
	not catalog.table_config("acme-analytics.hr.people")
	not catalog.table_config("other-project.crm.customers")
	not catalog.table_config("acme-analytics.crm")
	not catalog.table_config("customers")
}

# Names may hold dots: every way of cutting the id is tried, and only a listed one matches.
test_table_names_with_dots_looked_up if {
	tables := {"orders": {}, "information_schema.columns": {"unmasked_groups": ["x"]}}
	id := "acme-analytics.sales.information_schema.columns"
	config := catalog.table_config(id) with data.org.projects["acme-analytics"].datasets.sales.tables as tables
	config == {"unmasked_groups": ["x"]}
	projects := {"example.com:p": {"datasets": {"d": {"tables": {"t.v1": {"n": 1}}}}}}
	catalog.table_config("example.com:p.d.t.v1") == {"n": 1} with data.org.projects as projects
	not catalog.table_config("example.com:p.d.t") with data.org.projects as projects
	not catalog.table_config("example.com:p.d.t.v1.x") with data.org.projects as projects
}

# A ref is known only when its project, dataset and table are all listed.
test_status_needs_a_listed_table if {
	catalog.status(td.ref("acme-analytics.sales.orders", "read")) == "known"
	catalog.status(td.ref("acme-analytics.sales.returns", "read")) == "unknown_table"
	catalog.status(td.ref("acme-analytics.hr.people", "read")) == "unknown_dataset"
	catalog.status(td.ref("nope.sales.orders", "read")) == "unknown_project"
	catalog.status(td.ref("acme-analytics.sales.information_schema.columns", "read")) == "information_schema"
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
