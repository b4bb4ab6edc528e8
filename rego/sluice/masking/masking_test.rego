package sluice.masking_test

import data.sluice.masking
import data.sluice.testdata_test as td

_codes(reasons) := {reason.code | some reason in reasons}

_customers := td.customers

_source(column) := {"table": _customers, "column": column}

_computed_message(output, table, column) := concat("", [
	"statement 0 output ", output, " is computed from ", table, ".", column,
	", which the caller may see only masked: select the column itself (it is returned masked) or leave it out",
])

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

# Sensitive columns listed without a strategy, as a list of names or a name with nothing after it
# (null), are masked at the strictest rather than returned as they are.
test_sensitive_columns_without_strategy_masked_always_null if {
	ssn := {"statement": 0, "output": "ssn", "strategy": "ALWAYS_NULL", "source": _source("ssn")}
	street := object.union(
		{"statement": 0, "output": "address", "path": ["street"]},
		{"strategy": "ALWAYS_NULL", "source": _source("address.street")},
	)
	masking.masks == {ssn, street} with input as td.crm_select
		with data.org.projects["acme-analytics"].datasets.crm.tables.customers.sensitive_columns as ["ssn", "address.street"]
	ssn in masking.masks with input as td.crm_select
		with data.org.projects["acme-analytics"].datasets.crm.tables.customers.sensitive_columns as {"ssn": null}
	masking.masks == {ssn} with input as td.crm_select
		with data.org.projects["acme-analytics"].datasets.crm.tables.customers.sensitive_columns as "ssn"
}

# BigQuery column names are case-insensitive: a column listed in capitals, as a table's schema
# may spell it, is still the column the statement names (lower-cased) and is masked.
test_sensitive_columns_listed_in_any_case_are_masked if {
	source := {"table": td.orders, "column": "amount"}
	amount := {"statement": 0, "output": "amount", "strategy": "redact", "source": source}
	masking.masks == {amount} with input as td.sales_select
		with data.org.projects["acme-analytics"].datasets.sales.tables.orders.sensitive_columns as {"Amount": "redact"}
	masking.masks == {object.union(amount, {"strategy": "ALWAYS_NULL"})} with input as td.sales_select
		with data.org.projects["acme-analytics"].datasets.sales.tables.orders.sensitive_columns as ["AMOUNT"]

	# Two spellings of one column that disagree: the strictest.
	disagreeing := {"AMOUNT": "ALWAYS_NULL", "amount": "redact"}
	masking.masks == {object.union(amount, {"strategy": "ALWAYS_NULL"})} with input as td.sales_select
		with data.org.projects["acme-analytics"].datasets.sales.tables.orders.sensitive_columns as disagreeing
}

# A list mixing names and name: strategy entries masks every column it names: none is
# skipped for the shape it was written in.
test_sensitive_columns_listed_in_a_mixed_list_are_masked if {
	ssn := {"statement": 0, "output": "ssn", "strategy": "ALWAYS_NULL", "source": _source("ssn")}
	email := {"statement": 0, "output": "email", "strategy": "hash", "source": _source("email")}
	masking.masks == {ssn, email} with input as td.crm_select
		with data.org.projects["acme-analytics"].datasets.crm.tables.customers.sensitive_columns as ["ssn", {"email": "hash"}]
}

test_unmasked_group_sees_everything if {
	request := td.with_identity(td.crm_select, td.pii_reader)
	count(masking.masks) == 0 with input as request
	count(masking.deny) == 0 with input as request
}

# Any mask would leave what a computed value shows of its source (whether it is NULL, whether
# computing it fails): only the column passed through is masked, the computed ones are denied.
test_transformed_outputs_denied if {
	street := {"statement": 0, "output": "street", "strategy": "redact", "source": _source("address.street")}
	masking.masks == {street} with input as td.crm_transformed
	reasons := masking.deny with input as td.crm_transformed
	_codes(reasons) == {"sensitive_computation"}
	{reason.rule | some reason in reasons} == {"sluice.masking.deny_sensitive_computation"}
	{reason.message | some reason in reasons} == {
		_computed_message("s", _customers, "ssn"),
		_computed_message("a", _customers, "address.street"),
	}
}

test_transformed_outputs_of_unmasked_caller_allowed if {
	request := td.with_identity(td.crm_transformed, td.pii_reader)
	count(masking.deny) == 0 with input as request
	count(masking.masks) == 0 with input as request
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
	sources := [_source("ssn"), _source("email"), _source("ssn")]
	output := object.union(td.direct(0, "v", _customers, "ssn"), {"sources": sources})
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

# An empty list of candidate tables names none, so every table of the statement is a candidate.
test_unknown_lineage_with_empty_candidates_assumes_all_tables if {
	output := object.union(td.crm_unknown_lineage.sql.statements[0].outputs[0], {"tables": []})
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

# INSERT INTO sales.orders (order_id, product) SELECT customer_id, notes FROM crm.customers
_copy_notes_to_sales := td.request(
	td.engineer,
	"INSERT INTO sales.orders (order_id, product) SELECT customer_id, notes FROM crm.customers",
	"5f0c0a4d6a3e2b1c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c",
	[td.statement(0, "INSERT", "write", [td.ref(td.orders, "write"), td.ref(td.customers, "read")], [
		td.direct(0, "order_id", td.customers, "customer_id"),
		td.direct(1, "product", td.customers, "notes"),
	])],
	td.mib,
)

test_write_copying_scanned_values_out_denied if {
	_codes(masking.deny) == {"scanned_write_denied"} with input as _copy_notes_to_sales
}

test_write_copying_scanned_values_allowed_for_exempt_group if {
	exempt := object.union(td.engineer, {"groups": ["data-engineers", "pii-readers"]})
	count(masking.deny) == 0 with input as td.with_identity(_copy_notes_to_sales, exempt)
}

test_write_copying_scanned_values_allowed_without_content_scan if {
	count(masking.deny) == 0 with input as _copy_notes_to_sales with data.org.content_scan as {}
}

test_write_reading_and_writing_unscanned_tables_allowed if {
	count(masking.deny) == 0 with input as td.select_then_delete
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

# Policy tags: columns BigQuery tags are masked without being listed in the data.

_employees := td.employees

_leave := td.medical_leave

_tagged := td.workforce_select

# A mask of statement 0 on a column of workforce.employees or workforce.medical_leave.
_mask(output, strategy, table, column) := {
	"statement": 0,
	"output": output,
	"strategy": strategy,
	"source": {"table": table, "column": column},
}

_email_mask := _mask("work_email", "EMAIL_MASK", _employees, "work_email")

_diagnosis_mask := _mask("diagnosis", "ALWAYS_NULL", _leave, "diagnosis")

_tagged_with_outputs(category, outputs) := _with_outputs(_tagged, category, outputs)

_messages(reasons) := {reason.message | some reason in reasons}

test_tagged_columns_masked_with_their_tags_strategy if {
	masking.masks == {
		_mask("who", "SHA256", _employees, "full_name"),
		_email_mask,
		_diagnosis_mask,
	} with input as _tagged
}

test_tagged_mask_reason_names_the_tag if {
	messages := _messages(masking.mask_reasons) with input as _tagged
	concat("", [
		"statement 0 output work_email is masked (EMAIL_MASK): ",
		"acme-analytics.workforce.employees.work_email has policy tag ", td.tag("5102"),
	]) in messages
}

# Fail closed: a tag the data does not map masks for everyone, at the strictest, and says so.
test_unmapped_tag_masks_always_null_for_everyone_and_names_the_tag if {
	request := td.with_identity(_tagged, td.pii_reader)
	masking.masks == {_diagnosis_mask} with input as request
	some reason in masking.mask_reasons with input as request
	reason.code == "pii_masked"
	contains(reason.message, concat("", ["has policy tag ", td.unmapped_tag, ", which maps to no rule"]))
}

test_no_tag_mapping_at_all_masks_every_tag_always_null if {
	masks := masking.masks with input as _tagged with data.org.policy_tags as {}
	{mask.strategy | some mask in masks} == {"ALWAYS_NULL"}
	count(masks) == 3
}

test_mapped_tag_without_strategy_masks_always_null if {
	email_tag := td.tag("5102")
	tags := object.union(object.remove(data.org.policy_tags, [email_tag]), {email_tag: {"raw_readers": ["pii-readers"]}})
	masks := masking.masks with input as _tagged with data.org.policy_tags as tags
	_mask("work_email", "ALWAYS_NULL", _employees, "work_email") in masks
}

# A tag listed with nothing under it (YAML `tag:` is null) is a mapped tag with neither a strategy
# nor raw readers: the strictest mask for everyone, not no mask at all.
test_mapped_tag_with_empty_entry_masks_always_null if {
	email_tag := td.tag("5102")
	tags := object.union(object.remove(data.org.policy_tags, [email_tag]), {email_tag: null})
	masks := masking.masks with input as _tagged with data.org.policy_tags as tags
	_mask("work_email", "ALWAYS_NULL", _employees, "work_email") in masks
}

test_raw_readers_of_one_tag_do_not_read_another if {
	request := _tagged_with_outputs("read", [
		td.direct(0, "work_email", _employees, "work_email"),
		td.direct(1, "salary", _employees, "salary"),
	])
	salary := _mask("salary", "DEFAULT_MASKING_VALUE", _employees, "salary")
	masking.masks == {_email_mask, salary} with input as request
	masking.masks == {salary} with input as td.with_identity(request, td.pii_reader)
}

# The table's unmasked_groups is about the columns it lists, not its tags.
test_unmasked_groups_do_not_lift_tags if {
	count(masking.masks) == 3 with input as td.with_identity(_tagged, td.engineer)
		with data.org.projects["acme-analytics"].datasets.workforce.tables.employees.unmasked_groups as ["data-engineers"]
}

test_transformed_tagged_outputs_denied if {
	request := _tagged_with_outputs("read", [
		td.derived(0, "e", [td.col(_employees, "work_email")]),
		td.derived(1, "d", [td.col(_leave, "diagnosis")]),
	])
	count(masking.masks) == 0 with input as request
	reasons := masking.deny with input as request
	_codes(reasons) == {"sensitive_computation"}
	count(reasons) == 2
}

# TO_JSON_STRING(e) AS j: every column of the row, tagged or not, flows into one value; each
# tagged one, an unmapped tag's too, is named.
test_whole_row_with_tagged_columns_denied if {
	row := td.derived(0, "j", [
		td.col(_employees, "employee_id"),
		td.col(_employees, "work_email"),
		td.col(_leave, "diagnosis"),
	])
	request := _tagged_with_outputs("read", [row])
	count(masking.masks) == 0 with input as request
	reasons := masking.deny with input as request
	{reason.message | some reason in reasons} == {
		_computed_message("j", _employees, "work_email"),
		_computed_message("j", _leave, "diagnosis"),
	}
}

# UNION ALL of two tagged columns: the strictest, explained by the column that has it.
test_disagreeing_tagged_sources_get_the_strictest if {
	email := td.direct(0, "v", _employees, "work_email")
	with_diagnosis := object.union(email, {"sources": [td.col(_employees, "work_email"), td.col(_leave, "diagnosis")]})
	strictest := masking.masks with input as _tagged_with_outputs("read", [with_diagnosis])
	strictest == {_mask("v", "ALWAYS_NULL", _leave, "diagnosis")}
	with_name := object.union(email, {"sources": [td.col(_employees, "work_email"), td.col(_employees, "full_name")]})
	redacted := masking.masks with input as _tagged_with_outputs("read", [with_name])
	redacted == {_mask("v", "redact", _employees, "full_name")}
}

test_tagged_field_inside_record_masked_at_its_path if {
	tags := {"home.street": [td.tag("5101")], "home.geo": [td.unmapped_tag]}
	request := object.union(_tagged, {"sql": {"statements": [td.statement(
		0, "SELECT", "read",
		[td.tagged_ref(_employees, "read", tags)],
		[td.direct(0, "home", _employees, "home"), td.direct(1, "street", _employees, "home.street")],
	)]}})
	masking.masks == {
		object.union(_mask("home", "SHA256", _employees, "home.street"), {"path": ["street"]}),
		object.union(_mask("home", "ALWAYS_NULL", _employees, "home.geo"), {"path": ["geo"]}),
		_mask("street", "SHA256", _employees, "home.street"),
	} with input as request
}

# A column both listed and tagged: each rule masks on its own terms; disagreeing, redact.
test_listed_and_tagged_column if {
	tagged := object.union(td.crm_select, {"sql": {"statements": [object.union(
		td.crm_select.sql.statements[0],
		{"tables": [td.tagged_ref(_customers, "read", {"email": [td.tag("5102")]})]},
	)]}})
	masks := masking.masks with input as tagged
	{"statement": 0, "output": "email", "strategy": "redact", "source": _source("email")} in masks

	# the table's unmasked_groups lift the listing, not the tag
	masking.masks == {_mask("email", "EMAIL_MASK", _customers, "email")} with input as tagged
		with data.org.projects["acme-analytics"].datasets.crm.tables.customers.unmasked_groups as ["agents"]
}

# Listing stays possible for columns BigQuery does not tag.
test_listing_an_untagged_column_of_a_tagged_table if {
	request := _tagged_with_outputs("read", [td.direct(0, "department", _employees, "department")])
	count(masking.masks) == 0 with input as request
	listed := {"department": "hash"}
	masks := masking.masks with input as request
		with data.org.projects["acme-analytics"].datasets.workforce.tables.employees.sensitive_columns as listed
	masks == {_mask("department", "hash", _employees, "department")}
}

# Tags count on a table the data does not list (the catalog denies it on its own account).
test_tags_mask_on_tables_the_data_does_not_list if {
	request := td.with_identity(_tagged, td.pii_reader)
	masks := masking.masks with input as request with data.org.projects["acme-analytics"].datasets.workforce as {}
	masks == {_diagnosis_mask}
}

test_tagged_predicate_denied if {
	request := _with_predicates(_tagged, [td.col(_employees, "national_id")])
	_codes(masking.deny) == {"sensitive_predicate"} with input as request
	count(masking.deny) == 0 with input as td.with_identity(request, td.pii_reader)
	untraced := _with_predicates(td.with_identity(_tagged, td.pii_reader), [td.col(_leave, "*")])
	_codes(masking.deny) == {"sensitive_predicate"} with input as untraced
}

test_unknown_lineage_over_tagged_table_denied if {
	unknown := {"index": 0, "name": "x", "sources": [], "lineage": "unknown", "direct": false, "tables": [_leave]}
	request := td.with_identity(_tagged_with_outputs("read", [unknown]), td.pii_reader)
	_codes(masking.deny) == {"lineage_unknown_sensitive"} with input as request
}

test_write_of_tagged_column_denied if {
	writes := _tagged_with_outputs("write", [td.direct(0, "work_email", _employees, "work_email")])
	_codes(masking.deny) == {"sensitive_write_denied"} with input as td.with_identity(writes, td.engineer)
}

test_content_scan_of_every_column_for_tagged_tables if {
	masking.content_scan.scope == "all" with input as _tagged
}

# A table of a `tagged` dataset whose schema was not seen carries no policy_tags at all.
_without_tags := json.patch(_tagged, [{"op": "remove", "path": "/sql/statements/0/tables/0/policy_tags"}])

test_tagged_dataset_read_without_its_schema_is_denied if {
	some reason in masking.deny with input as _without_tags
	reason.code == "policy_tags_unknown"
	contains(reason.message, "acme-analytics.workforce.")
}

test_tagged_dataset_read_with_its_schema_is_not_denied if {
	codes := {reason.code | some reason in masking.deny} with input as _tagged
	not "policy_tags_unknown" in codes
}

test_untagged_known_schema_is_not_unknown if {
	untagged := json.patch(_tagged, [{"op": "replace", "path": "/sql/statements/0/tables/0/policy_tags", "value": {}}])
	codes := {reason.code | some reason in masking.deny} with input as untagged
	not "policy_tags_unknown" in codes
}
