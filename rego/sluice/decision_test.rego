package sluice_test

import data.sluice
import data.sluice.testdata_test as td

_codes(decision) := {reason.code | some reason in decision.reasons}

_issued := {"limits": {"maximum_bytes_billed": td.gib}, "credential_ttl_seconds": 900}

test_allow if {
	decision := sluice.decision with input as td.sales_select
	scan := {"detectors": ["ssn", "card", "email", "phone"], "strategy": "redact", "scope": "unexpected_answers"}
	decision == object.union(_issued, {"outcome": "allow", "reasons": set(), "masks": set(), "content_scan": scan})
}

test_mask if {
	decision := sluice.decision with input as td.crm_select
	decision.outcome == "mask"
	count(decision.masks) == 3
	_codes(decision) == {"pii_masked"}
	decision.content_scan.strategy == "redact"
	decision.limits == _issued.limits
}

test_approve if {
	decision := sluice.decision with input as td.finance_select
	decision.outcome == "approve"
	_codes(decision) == {"approval_required"}
	count(decision.masks) == 0
	decision.approval.scope == {"kind": "dataset", "datasets": ["acme-analytics.finance"]}
	not decision.limits
	not decision.credential_ttl_seconds
}

test_allow_through_grant_is_audited if {
	decision := sluice.decision with input as td.with_grants(td.finance_select, [td.finance_grant])
	decision.outcome == "allow"
	count(decision.reasons) == 1
	some reason in decision.reasons
	reason.code == "grant_used"
	contains(reason.message, td.finance_grant.id)
}

test_deny if {
	decision := sluice.decision with input as td.drop_table
	decision == {"outcome": "deny", "reasons": decision.reasons, "masks": set()}
	_codes(decision) == {"category_denied"}
}

test_deny_beats_approve if {
	request := object.union(td.finance_select, {"sql": {"statements": [
		td.finance_select.sql.statements[0],
		object.union(td.drop_table.sql.statements[0], {"index": 1}),
	]}})
	decision := sluice.decision with input as request
	decision.outcome == "deny"
	"category_denied" in _codes(decision)
	not "approval_required" in _codes(decision)
	not decision.approval
}

test_approve_beats_mask if {
	request := object.union(td.finance_select, {"sql": {"statements": [
		td.finance_select.sql.statements[0],
		object.union(td.crm_select.sql.statements[0], {"index": 1}),
	]}})
	decision := sluice.decision with input as request
	decision.outcome == "approve"
	count(decision.masks) == 0
}

test_mask_after_grant if {
	request := object.union(td.finance_select, {
		"sql": {"statements": [
			td.finance_select.sql.statements[0],
			object.union(td.crm_select.sql.statements[0], {"index": 1}),
		]},
		"grants": [td.finance_grant],
	})
	decision := sluice.decision with input as request
	decision.outcome == "mask"
	_codes(decision) == {"pii_masked", "grant_used"}
	every mask in decision.masks {
		mask.statement == 1
	}
}

test_any_statement_deny_wins if {
	decision := sluice.decision with input as td.with_identity(td.select_then_delete, td.agent)
	decision.outcome == "deny"
	every reason in decision.reasons {
		reason.statement == 1
	}
}

test_unparsed_denied_naming_the_error if {
	decision := sluice.decision with input as td.unparsed
	decision.outcome == "deny"
	count(decision.reasons) == 1
	some reason in decision.reasons
	reason.code == "statement_unparsed"
	contains(reason.message, "SELEC")
}

test_missing_input_denied if {
	decision := sluice.decision with input as {}
	decision.outcome == "deny"
	"invalid_input" in _codes(decision)
}

test_malformed_statement_denied if {
	statement := object.remove(td.sales_select.sql.statements[0], ["tables"])
	decision := sluice.decision with input as td.sales_select with input.sql.statements as [statement]
	"invalid_input" in _codes(decision)
}

test_malformed_output_denied if {
	output := object.remove(td.crm_select.sql.statements[0].outputs[1], ["sources"])
	statement := object.union(td.crm_select.sql.statements[0], {"outputs": [output]})
	decision := sluice.decision with input as td.crm_select with input.sql.statements as [statement]
	"invalid_input" in _codes(decision)
}

test_empty_subject_denied if {
	decision := sluice.decision with input as td.sales_select with input.identity.subject as ""
	_codes(decision) == {"invalid_input"}
}

# Policy data that cannot produce a full decision must not allow.
test_incomplete_data_denied if {
	decision := sluice.decision with input as td.sales_select with data.org.credential_ttl_seconds as null
	decision.outcome == "deny"
	_codes(decision) == {"policy_error"}
}

test_content_scan_scope if {
	sluice.decision.content_scan.scope == "all" with input as td.crm_select
	sluice.decision.content_scan.scope == "unexpected_answers" with input as td.sales_select
	not sluice.decision.content_scan with input as td.with_identity(td.crm_select, td.pii_reader)
	not sluice.decision.content_scan with input as td.sales_select with data.org.content_scan as null
}

# Sets, which print as arrays (the engine lists them in OPA's order of values).
test_reasons_and_masks_always_sets if {
	every example in td.examples {
		decision := sluice.decision with input as example
		is_set(decision.reasons)
		is_set(decision.masks)
		decision.outcome in {"allow", "deny", "approve", "mask"}
	}
}

# A one-time byte-threshold grant for a finance statement, once the finance grant is gone
# (expired or revoked), does not read finance: data-owners' grant for the dataset is asked again.
test_bytes_grant_is_no_dataset_grant if {
	scope := {"kind": "statement", "statement_hash": td.finance_select.sql.hash, "max_bytes": 11 * td.gib}
	scan := td.grant("g-scan", scope)
	request := td.with_bytes(td.with_grants(td.finance_select, [object.union(scan, {"one_time": true})]), 11 * td.gib)
	decision := sluice.decision with input as request
	decision.outcome == "approve"
	decision.approval.scope == {"kind": "dataset", "datasets": ["acme-analytics.finance"]}
}

# A reusable grant from a dataset approved for one statement does not pay for the byte threshold,
# which data.org.bytes.approval asks for on its own terms (one-time).
test_dataset_statement_grant_is_no_bytes_grant if {
	hash := td.finance_select.sql.hash
	stmt := td.grant("g-stmt", {"kind": "statement", "statement_hash": hash, "datasets": ["acme-analytics.finance"]})
	request := td.with_bytes(td.with_grants(td.finance_select, [stmt]), 11 * td.gib)
	decision := sluice.decision with input as request
	decision.outcome == "approve"
	decision.approval.one_time == true
	{r.code | some r in decision.reasons} == {"bytes_approval_required", "grant_used"}
}
