package sluice.estimate_test

import data.sluice.estimate
import data.sluice.testdata_test as td

_codes(reasons) := {reason.code | some reason in reasons}

_statement_grant := td.grant("g-bytes", {"kind": "statement", "statement_hash": td.sales_select.sql.hash})

test_small_scan_passes if {
	count(estimate.deny) == 0 with input as td.sales_select
	not estimate.needs_approval with input as td.sales_select
}

test_missing_estimate_denied_when_required if {
	request := object.remove(td.sales_select, ["estimate"])
	_codes(estimate.deny) == {"estimate_missing"} with input as request
		with data.org.bytes.require_estimate as true
}

test_missing_estimate_fine_without_tables if {
	request := object.remove(td.sales_select, ["estimate"])
	count(estimate.deny) == 0 with input as request
		with input.sql.statements as [td.statement(0, "SELECT", "read", [], [])]
		with data.org.bytes.require_estimate as true
}

test_missing_estimate_allowed_by_default_data if {
	request := object.remove(td.sales_select, ["estimate"])
	count(estimate.deny) == 0 with input as request
}

test_table_missed_by_parser_denied if {
	request := object.union(td.sales_select, {"estimate": {"unparsed_tables": [td.customers]}})
	reasons := estimate.deny with input as request
	_codes(reasons) == {"unparsed_table_reference"}
	some reason in reasons
	contains(reason.message, td.customers)
}

test_dry_run_naming_no_tables_denied_when_expected if {
	expected := {"bytes": 0, "source": "dry_run", "referenced_tables_expected": true}
	_codes(estimate.deny) == {"referenced_tables_missing"} with input as td.sales_select with input.estimate as expected
	_codes(estimate.deny) == {"referenced_tables_missing"} with input as td.sales_select
		with input.estimate as object.union(expected, {"referenced_tables": []})
	count(estimate.deny) == 0 with input as td.sales_select
		with input.estimate as object.union(expected, {"referenced_tables": [td.orders]})
}

test_dry_run_naming_no_tables_fine_when_not_expected if {
	count(estimate.deny) == 0 with input as td.sales_select
		with input.estimate as {"bytes": 0, "source": "dry_run"}
}

test_dry_run_naming_no_tables_fine_for_metadata_and_constants if {
	request := object.union(td.sales_select, {"estimate": {"referenced_tables_expected": true, "referenced_tables": []}})
	count(estimate.deny) == 0 with input as request
		with input.sql.statements as [td.statement(0, "SELECT", "read", [], [])]

	views := [{
		"id": "acme-analytics.sales.information_schema.tables",
		"project": "acme-analytics",
		"dataset": "sales.information_schema",
		"table": "tables",
		"mode": "read",
	}]
	count(estimate.deny) == 0 with input as request
		with input.sql.statements as [td.statement(0, "SELECT", "read", views, [])]
}

test_over_deny_threshold_denied if {
	_codes(estimate.deny) == {"bytes_limit_exceeded"} with input as td.with_bytes(td.sales_select, (1024 * td.gib) + 1)
	count(estimate.deny) == 0 with input as td.with_bytes(td.sales_select, 1024 * td.gib)
}

test_over_approval_threshold_needs_approval if {
	request := td.with_bytes(td.sales_select, (10 * td.gib) + 1)
	estimate.needs_approval with input as request
	_codes(estimate.approve_bytes) == {"bytes_approval_required"} with input as request
	not estimate.needs_approval with input as td.with_bytes(td.sales_select, 10 * td.gib)
}

test_statement_grant_covers_bytes if {
	request := td.with_grants(td.with_bytes(td.sales_select, 11 * td.gib), [_statement_grant])
	not estimate.needs_approval with input as request
	reasons := estimate.grant_reasons with input as request
	_codes(reasons) == {"grant_used"}
	some reason in reasons
	contains(reason.message, "g-bytes")
}

test_dataset_grant_does_not_cover_bytes if {
	grant := td.grant("g-sales", {"kind": "dataset", "datasets": ["acme-analytics.sales"]})
	estimate.needs_approval with input as td.with_grants(td.with_bytes(td.sales_select, 11 * td.gib), [grant])
}

test_thresholds_come_from_data if {
	estimate.needs_approval with input as td.sales_select with data.org.bytes.approve_above as td.mib
}

test_bytes_billed_at_least_floor if {
	estimate.maximum_bytes_billed == td.gib with input as td.sales_select
}

test_bytes_billed_estimate_plus_headroom if {
	estimate.maximum_bytes_billed == 125 * td.gib with input as td.with_bytes(td.sales_select, 100 * td.gib)
	estimate.maximum_bytes_billed == 1250000000 with input as td.with_bytes(td.sales_select, 1000000000)
		with data.org.bytes.maximum_bytes_billed.floor as 0
}

test_bytes_billed_rounds_up if {
	estimate.maximum_bytes_billed == 2 with input as td.with_bytes(td.sales_select, 1)
		with data.org.bytes.maximum_bytes_billed.floor as 0
}

test_bytes_billed_at_most_cap if {
	estimate.maximum_bytes_billed == 1024 * td.gib with input as td.with_bytes(td.sales_select, 1000 * td.gib)
}

test_bytes_billed_without_estimate_is_floor if {
	estimate.maximum_bytes_billed == td.gib with input as object.remove(td.sales_select, ["estimate"])
}
