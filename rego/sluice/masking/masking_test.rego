package sluice.masking_test

import data.sluice.masking
import data.sluice.testdata_test as td

_codes(reasons) := {reason.code | some reason in reasons}

_customers := td.customers

_source(column) := {"table": _customers, "column": column}

_with_outputs(request, category, outputs) := object.union(request, {"sql": {"statements": [td.statement(
	0, "SELECT", category,
	request.sql.statements[0].tables,
	outputs,
)]}})

test_direct_sensitive_outputs_masked_with_their_strategy if {
	masking.masks == {
		{"statement": 0, "output": "ssn", "strategy": "last-4", "source": _source("ssn")},
		{"statement": 0, "output": "email", "strategy": "email-domain", "source": _source("email")},
		{"statement": 0, "output": "address", "path": ["street"], "strategy": "redact", "source": _source("address.street")},
	} with input as td.crm_select
}

test_unmasked_group_sees_everything if {
	request := td.with_identity(td.crm_select, td.pii_reader)
	count(masking.masks) == 0 with input as request
	count(masking.deny) == 0 with input as request
}

test_transformed_outputs_redacted_whole if {
	masking.masks == {
		{"statement": 0, "output": "s", "strategy": "redact", "source": _source("ssn")},
		{"statement": 0, "output": "a", "strategy": "redact", "source": _source("address.street")},
		{"statement": 0, "output": "street", "strategy": "redact", "source": _source("address.street")},
	} with input as td.crm_transformed
}

test_field_inside_sensitive_record_masked_whole if {
	request := _with_outputs(td.crm_select, "read", [td.direct(0, "city", _customers, "address.city")])
	mask := {"statement": 0, "output": "city", "strategy": "hash", "source": _source("address")}
	masking.masks == {mask} with input as request
		with data.org.projects["acme-analytics"].datasets.crm.tables.customers.sensitive_columns.address as "hash"
}

test_direct_output_keeps_configured_strategy_for_nested_path if {
	request := _with_outputs(td.crm_select, "read", [td.direct(0, "street", _customers, "address.street")])
	mask := {"statement": 0, "output": "street", "strategy": "last-4", "source": _source("address.street")}
	masking.masks == {mask} with input as request
		with data.org.projects["acme-analytics"].datasets.crm.tables.customers.sensitive_columns["address.street"] as "last-4"
}

test_non_sensitive_outputs_not_masked if {
	count(masking.masks) == 0 with input as td.sales_select
	request := _with_outputs(td.crm_select, "read", [td.direct(0, "city", _customers, "address.city")])
	count(masking.masks) == 0 with input as request
}

# UNION ALL of ssn and email: one output, two strategies; only redact is safe for both.
test_disagreeing_sources_redacted if {
	output := object.union(td.direct(0, "v", _customers, "ssn"), {"sources": [_source("ssn"), _source("email")]})
	request := _with_outputs(td.crm_select, "read", [output])
	mask := {"statement": 0, "output": "v", "strategy": "redact", "source": _source("email")}
	masking.masks == {mask} with input as request
}

test_same_output_masked_once if {
	output := td.derived(0, "v", [_source("ssn"), _source("email"), _source("ssn")])
	request := _with_outputs(td.crm_select, "read", [output])
	count(masking.masks) == 1 with input as request
}

test_each_mask_explained if {
	reasons := masking.mask_reasons with input as td.crm_select
	_codes(reasons) == {"pii_masked"}
	count(reasons) == 3
	some reason in reasons
	contains(reason.message, "output address.street is masked (redact)")
}

test_unknown_lineage_over_sensitive_table_denied if {
	reasons := masking.deny with input as td.crm_unknown_lineage
	_codes(reasons) == {"lineage_unknown_sensitive"}
	some reason in reasons
	contains(reason.message, "JS_UDF")
}

test_unknown_lineage_without_candidates_assumes_all_tables if {
	output := object.remove(td.crm_unknown_lineage.sql.statements[0].outputs[0], ["tables", "reason"])
	request := _with_outputs(td.crm_select, "read", [output])
	_codes(masking.deny) == {"lineage_unknown_sensitive"} with input as request
}

test_unknown_lineage_allowed_for_unmasked_group if {
	count(masking.deny) == 0 with input as td.with_identity(td.crm_unknown_lineage, td.pii_reader)
}

test_unknown_lineage_over_plain_table_allowed if {
	output := {"index": 0, "name": "x", "sources": [], "lineage": "unknown", "direct": false, "tables": [td.orders]}
	request := _with_outputs(td.sales_select, "read", [output])
	count(masking.deny) == 0 with input as request
}

test_write_reading_sensitive_column_denied if {
	writes := _with_outputs(td.crm_select, "write", [td.direct(0, "email", _customers, "email")])
	request := td.with_identity(writes, td.engineer)
	reasons := masking.deny with input as request
	_codes(reasons) == {"sensitive_write_denied"}
	count(masking.deny) == 0 with input as td.with_identity(request, td.pii_reader)
}

_with_predicates(request, columns) := object.union(request, {"sql": {"statements": [object.union(
	request.sql.statements[0],
	{"predicate_columns": columns},
)]}})

test_sensitive_predicate_denied_for_masked_callers if {
	request := _with_predicates(td.crm_select, [td.col(_customers, "customer_id"), td.col(_customers, "ssn")])
	count(masking.deny) == 0 with input as td.with_identity(request, td.pii_reader)
	reasons := masking.deny with input as request
	_codes(reasons) == {"sensitive_predicate"}
	some reason in reasons
	contains(reason.message, "on acme-analytics.crm.customers.ssn,")
}

test_predicate_on_record_holding_sensitive_field_denied if {
	record := _with_predicates(td.crm_select, [td.col(_customers, "address")])
	_codes(masking.deny) == {"sensitive_predicate"} with input as record
	safe_field := _with_predicates(td.crm_select, [td.col(_customers, "address.city")])
	count(masking.deny) == 0 with input as safe_field
}

test_untraced_predicate_denied_on_tables_with_masked_columns if {
	untraced := _with_predicates(td.crm_select, [td.col(_customers, "*")])
	_codes(masking.deny) == {"sensitive_predicate"} with input as untraced
	count(masking.deny) == 0 with input as _with_predicates(td.sales_select, [td.col(td.orders, "*")])
}

test_write_of_plain_columns_allowed if {
	count(masking.deny) == 0 with input as td.select_then_delete
}

test_content_scan_of_every_column_for_configured_or_sensitive_datasets if {
	scan := {"detectors": ["ssn", "card", "email", "phone"], "strategy": "redact"}
	masking.content_scan == object.union(scan, {"scope": "all"}) with input as td.crm_select
	not masking.content_scan with input as td.with_identity(td.crm_select, td.pii_reader)

	# crm holds sensitive columns: scanned whole even when no list names it
	masking.content_scan.scope == "all" with input as td.crm_select with data.org.content_scan.datasets as []
}

test_content_scan_of_unexpected_answers_elsewhere if {
	masking.content_scan.scope == "unexpected_answers" with input as td.sales_select
	masking.content_scan.scope == "all" with input as td.sales_select
		with data.org.content_scan.datasets as ["acme-analytics.sales"]
}

# A table the lineage names but the statement does not read (the catalog denies that too) is
# looked up by its id: its sensitive columns still count.
test_tables_outside_the_statement_looked_up_by_id if {
	unknown := {"index": 0, "name": "x", "sources": [], "lineage": "unknown", "direct": false, "tables": [_customers]}
	request := _with_outputs(td.sales_select, "read", [unknown])
	_codes(masking.deny) == {"lineage_unknown_sensitive"} with input as request
	masked := _with_outputs(td.sales_select, "read", [td.direct(0, "s", _customers, "ssn")])
	masking.masks == {{"statement": 0, "output": "s", "strategy": "last-4", "source": _source("ssn")}} with input as masked
}
