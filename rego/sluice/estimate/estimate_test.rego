package sluice.estimate_test

import data.sluice.estimate
import data.sluice.testdata_test as td

_codes(reasons) := {reason.code | some reason in reasons}

_statement_scope := {"kind": "statement", "statement_hash": td.sales_select.sql.hash, "max_bytes": 11 * td.gib}

_statement_grant := td.grant("g-bytes", _statement_scope)

# What _statement_grant pays for: its 11 GiB plus the 25 % billing headroom.
_bound := 14763950080

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

# No approvers for the byte threshold (none listed, one name where a list belongs, no block):
# a scan over it is refused, not let through for want of someone to ask.
test_over_approval_threshold_without_approvers_denied if {
	request := td.with_bytes(td.sales_select, (10 * td.gib) + 1)
	_codes(estimate.deny) == {"bytes_limit_exceeded"} with input as request with data.org.bytes.approval as null
	count(estimate.deny) == 0 with input as td.with_bytes(td.sales_select, 10 * td.gib)
		with data.org.bytes.approval as null
	every groups in [[], "data-owners"] {
		_codes(estimate.deny) == {"bytes_limit_exceeded"} with input as request
			with data.org.bytes.approval.approver_groups as groups
		count(estimate.approve_bytes) == 0 with input as request
			with data.org.bytes.approval.approver_groups as groups
	}
}

# A threshold written as a string compares below no byte count: refused, not never crossed.
test_threshold_not_a_number_denied if {
	_codes(estimate.deny) == {"policy_data_invalid"} with input as td.with_bytes(td.sales_select, 20 * td.gib)
		with data.org.bytes.approve_above as "10737418240"
	_codes(estimate.deny) == {"policy_data_invalid"} with input as td.sales_select
		with data.org.bytes.deny_above as "1099511627776"
}

# The job a statement grant pays for is capped at what the grant pays for, not at its estimate
# plus headroom again.
test_granted_scan_capped_at_the_grant_bound if {
	request := td.with_grants(td.with_bytes(td.sales_select, _bound), [_statement_grant])
	estimate.maximum_bytes_billed == _bound with input as request
	estimate.maximum_bytes_billed == ceil((12 * td.gib) * 1.25) with input as td.with_bytes(td.sales_select, 12 * td.gib)
}

test_statement_grant_covers_bytes if {
	request := td.with_grants(td.with_bytes(td.sales_select, 11 * td.gib), [_statement_grant])
	not estimate.needs_approval with input as request
	reasons := estimate.grant_reasons with input as request
	_codes(reasons) == {"grant_used"}
	some reason in reasons
	contains(reason.message, "g-bytes")
}

# The approver was shown 11 GiB: the grant pays for that plus the billing headroom, not for data
# grown since; a statement grant naming no bytes pays for nothing.
test_statement_grant_pays_for_the_approved_scan_only if {
	not estimate.needs_approval with input as td.with_grants(td.with_bytes(td.sales_select, _bound), [_statement_grant])
	estimate.needs_approval with input as td.with_grants(td.with_bytes(td.sales_select, _bound + 1), [_statement_grant])
	unbounded := td.grant("g-unbounded", {"kind": "statement", "statement_hash": td.sales_select.sql.hash})
	estimate.needs_approval with input as td.with_grants(td.with_bytes(td.sales_select, 11 * td.gib), [unbounded])
	estimate.maximum_bytes_billed == 10 * td.gib with input as td.with_grants(td.sales_select, [unbounded])
		with input.estimate as _cap
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

# source "cap": no figure yet; BigQuery holds the job to limits.maximum_bytes_billed.

_cap := {"source": "cap"}

_tib := 1024 * td.gib

test_cap_without_grant_capped_at_approve_above if {
	estimate.maximum_bytes_billed == 10 * td.gib with input as td.sales_select with input.estimate as _cap
	count(estimate.grant_reasons) == 0 with input as td.sales_select with input.estimate as _cap
}

test_cap_with_statement_grant_capped_at_its_approved_bytes if {
	request := td.with_grants(td.sales_select, [_statement_grant])

	estimate.maximum_bytes_billed == _bound with input as request with input.estimate as _cap
	big := object.union(_statement_grant, {"scope": {"max_bytes": 2 * _tib}})
	estimate.maximum_bytes_billed == _tib with input as td.with_grants(td.sales_select, [big])
		with input.estimate as _cap
	not estimate.needs_approval with input as request with input.estimate as _cap

	# The grant lifts the cap, so this run uses it (a one-time grant is spent).
	reasons := estimate.grant_reasons with input as request with input.estimate as _cap
	_codes(reasons) == {"grant_used"}
	some reason in reasons
	reason.grant == "g-bytes"
	contains(reason.message, "14763950080")
}

test_cap_grants_that_do_not_pay_for_the_scan if {
	dataset := td.grant("g-sales", {"kind": "dataset", "datasets": ["acme-analytics.sales"]})
	other := td.grant("g-other", {"kind": "statement", "statement_hash": td.crm_select.sql.hash})
	expired := object.union(_statement_grant, {"expires_at": td.now.unix})
	someone_else := object.union(_statement_grant, {"subject": td.analyst.subject})
	every grant in [dataset, other, expired, someone_else] {
		estimate.maximum_bytes_billed == 10 * td.gib with input as td.with_grants(td.sales_select, [grant])
			with input.estimate as _cap
		count(estimate.grant_reasons) == 0 with input as td.with_grants(td.sales_select, [grant])
			with input.estimate as _cap
	}
}

test_cap_never_above_the_cap if {
	estimate.maximum_bytes_billed == 5 * td.gib with input as td.sales_select with input.estimate as _cap
		with data.org.bytes.maximum_bytes_billed.cap as 5 * td.gib
	request := td.with_grants(td.sales_select, [_statement_grant])
	big := td.with_grants(td.sales_select, [object.union(_statement_grant, {"scope": {"max_bytes": 100 * td.gib}})])
	estimate.maximum_bytes_billed == 50 * td.gib with input as big with input.estimate as _cap
		with data.org.bytes.maximum_bytes_billed.cap as 50 * td.gib

	# A grant that cannot lift the cap is not used.
	count(estimate.grant_reasons) == 0 with input as request with input.estimate as _cap
		with data.org.bytes.maximum_bytes_billed.cap as 5 * td.gib
}

test_cap_never_below_bigquery_minimum if {
	estimate.maximum_bytes_billed == 10485760 with input as td.sales_select with input.estimate as _cap
		with data.org.bytes.approve_above as td.mib
	estimate.maximum_bytes_billed == 10485760 with input as td.sales_select with input.estimate as _cap
		with data.org.bytes.approve_above as 0
	estimate.maximum_bytes_billed == 10485761 with input as td.sales_select with input.estimate as _cap
		with data.org.bytes.approve_above as 10485761
}

test_cap_below_bigquery_minimum_keeps_the_cap if {
	estimate.maximum_bytes_billed == td.mib with input as td.sales_select with input.estimate as _cap
		with data.org.bytes.maximum_bytes_billed.cap as td.mib
}

test_cap_lowest_threshold_wins if {
	# deny_above below approve_above: denial is the first outcome to change.
	estimate.maximum_bytes_billed == 5 * td.gib with input as td.sales_select with input.estimate as _cap
		with data.org.bytes.deny_above as 5 * td.gib
}

test_cap_without_approval_threshold_in_data if {
	bytes := object.remove(data.org.bytes, ["approve_above"])
	estimate.maximum_bytes_billed == _tib with input as td.sales_select with input.estimate as _cap
		with data.org.bytes as bytes
	count(estimate.grant_reasons) == 0 with input as td.with_grants(td.sales_select, [_statement_grant])
		with input.estimate as _cap
		with data.org.bytes as bytes
}

test_cap_without_thresholds_in_data_is_floor if {
	bytes := object.remove(data.org.bytes, ["approve_above", "deny_above"])
	estimate.maximum_bytes_billed == td.gib with input as td.sales_select with input.estimate as _cap
		with data.org.bytes as bytes
}

test_cap_judges_nothing_on_bytes if {
	count(estimate.deny) == 0 with input as td.sales_select with input.estimate as _cap
		with data.org.bytes.approve_above as 0
		with data.org.bytes.deny_above as 0
	count(estimate.approve_bytes) == 0 with input as td.sales_select with input.estimate as _cap
		with data.org.bytes.approve_above as 0
	not estimate.needs_approval with input as td.sales_select with input.estimate as _cap
		with data.org.bytes.approve_above as 0
}

test_cap_satisfies_require_estimate if {
	count(estimate.deny) == 0 with input as td.sales_select with input.estimate as _cap
		with data.org.bytes.require_estimate as true
}

test_cap_names_no_tables_even_when_expected if {
	count(estimate.deny) == 0 with input as td.sales_select
		with input.estimate as {"source": "cap", "referenced_tables_expected": true}
}

test_cap_decision_carries_the_cap if {
	decision := data.sluice.decision with input as td.sales_select with input.estimate as _cap
	decision.outcome == "allow"
	count(decision.reasons) == 0
	decision.limits.maximum_bytes_billed == 10 * td.gib

	granted := data.sluice.decision with input as td.with_grants(td.sales_select, [_statement_grant])
		with input.estimate as _cap
	granted.outcome == "allow"
	[reason.grant | some reason in granted.reasons] == ["g-bytes"]
	granted.limits.maximum_bytes_billed == _bound
}

# source "job": a finished job's figures, judged by the same rules.

_job(bytes) := {"source": "job", "bytes": bytes, "referenced_tables": [td.orders], "unparsed_tables": []}

test_job_within_thresholds_passes if {
	count(estimate.deny) == 0 with input as td.sales_select with input.estimate as _job(12 * td.mib)
	not estimate.needs_approval with input as td.sales_select with input.estimate as _job(12 * td.mib)
}

test_job_table_missed_by_parser_denied if {
	figures := object.union(_job(12 * td.mib), {
		"referenced_tables": [td.orders, td.customers],
		"unparsed_tables": [td.customers],
	})
	reasons := estimate.deny with input as td.sales_select with input.estimate as figures
	{[reason.code, reason.message] | some reason in reasons} == {[
		"unparsed_table_reference",
		concat("", ["the finished BigQuery job read ", td.customers, ", which no parsed statement names"]),
	]}
}

test_job_naming_no_tables_denied_when_expected if {
	figures := {"source": "job", "bytes": 0, "referenced_tables_expected": true}
	reasons := estimate.deny with input as td.sales_select with input.estimate as figures
	{[reason.code, reason.message] | some reason in reasons} == {[
		"referenced_tables_missing",
		"the finished BigQuery job named none of the tables this query reads, so the parser's reading cannot be checked",
	]}
	_codes(estimate.deny) == {"referenced_tables_missing"} with input as td.sales_select
		with input.estimate as object.union(figures, {"referenced_tables": []})
	count(estimate.deny) == 0 with input as td.sales_select
		with input.estimate as object.union(figures, {"referenced_tables": [td.orders]})
	count(estimate.deny) == 0 with input as td.sales_select
		with input.estimate as {"source": "job", "bytes": 0}
}

test_job_over_deny_threshold_denied if {
	reasons := estimate.deny with input as td.sales_select with input.estimate as _job(_tib + 1)
	{[reason.code, reason.message] | some reason in reasons} == {[
		"bytes_limit_exceeded",
		"the job processed 1099511627777 bytes, more than the 1099511627776 allowed",
	]}
	count(estimate.deny) == 0 with input as td.sales_select with input.estimate as _job(_tib)
}

test_job_over_approval_threshold if {
	figures := _job((10 * td.gib) + 1)
	estimate.needs_approval with input as td.sales_select with input.estimate as figures
	reasons := estimate.approve_bytes with input as td.sales_select with input.estimate as figures
	message := "the job processed 10737418241 bytes, more than 10737418240 without approval by data-owners"
	{reason.message | some reason in reasons} == {message}

	# Judged with the grant its run was decided with, the job is covered.
	request := td.with_grants(td.sales_select, [_statement_grant])
	not estimate.needs_approval with input as request with input.estimate as figures
	_codes(estimate.grant_reasons) == {"grant_used"} with input as request with input.estimate as figures
}

# The dry run's wording is unchanged.
test_dry_run_messages_unchanged if {
	unparsed := object.union(td.sales_select, {"estimate": {"unparsed_tables": [td.customers]}})
	{reason.message | some reason in estimate.deny} == {concat("", [
		"BigQuery's dry run reads ",
		td.customers,
		", which no parsed statement names",
	])} with input as unparsed
	named_none := "BigQuery's dry run named none of the tables this query reads, so the parser's reading cannot be checked"
	{reason.message | some reason in estimate.deny} == {named_none} with input as td.sales_select
		with input.estimate as {"bytes": 0, "source": "dry_run", "referenced_tables_expected": true}
	over_limit := "the request would scan 1099511627777 bytes, more than the 1099511627776 allowed"
	{reason.message | some reason in estimate.deny} == {over_limit} with input as td.with_bytes(td.sales_select, _tib + 1)
	over_approval := "the request would scan 10737418241 bytes, more than 10737418240 without approval by data-owners"
	expensive := td.with_bytes(td.sales_select, (10 * td.gib) + 1)
	{reason.message | some reason in estimate.approve_bytes} == {over_approval} with input as expensive
}

test_caller_estimate_judged_like_a_dry_run if {
	figures := {"source": "caller", "bytes": (10 * td.gib) + 1}
	estimate.needs_approval with input as td.sales_select with input.estimate as figures
	estimate.maximum_bytes_billed == 13421772802 with input as td.sales_select with input.estimate as figures
}
