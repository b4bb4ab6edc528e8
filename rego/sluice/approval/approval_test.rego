package sluice.approval_test

import data.sluice.approval
import data.sluice.testdata_test as td

_finance_approval := {
	"approver_groups": ["data-owners"],
	"min_approvals": 1,
	"grant_ttl_seconds": 3600,
	"request_ttl_seconds": 86400,
}

# A second dataset needing approval, read in a second statement of the finance request.
_audit := {"readers": [], "approval": _finance_approval, "tables": {"events": {}}}

_finance_and_audit := object.union(td.finance_select, {"sql": {"statements": [
	td.finance_select.sql.statements[0],
	td.statement(1, "SELECT", "read", [td.ref("acme-analytics.audit.events", "read")], []),
]}})

test_nothing_requested_without_need if {
	not approval.requested with input as td.sales_select
	count(approval.reasons) == 0 with input as td.sales_select
}

test_dataset_approval_requested if {
	approval.requested == object.union(_finance_approval, {
		"scope": {"kind": "dataset", "datasets": ["acme-analytics.finance"]},
		"limits": data.org.approval_limits,
		"agent_groups": ["agents"],
	}) with input as td.finance_select
}

# The agent groups ride on the approval, so that no member decides on it; none when the data names none.
test_approval_names_the_agent_groups if {
	requested := approval.requested with input as td.finance_select with data.org.identity.agent_groups as "bots"
	requested.agent_groups == ["bots"]
	unnamed := approval.requested with input as td.finance_select with data.org.identity.agent_groups as []
	not unnamed.agent_groups
}

test_same_settings_share_one_grant if {
	requested := approval.requested with input as _finance_and_audit
		with data.org.projects["acme-analytics"].datasets.audit as _audit
	requested.scope == {"kind": "dataset", "datasets": ["acme-analytics.audit", "acme-analytics.finance"]}
}

test_different_settings_asked_one_after_another if {
	audit := object.union(_audit, {"approval": {"min_approvals": 2}})
	requested := approval.requested with input as _finance_and_audit
		with data.org.projects["acme-analytics"].datasets.audit as audit
	requested.scope.datasets == ["acme-analytics.audit"]
	requested.min_approvals == 2

	audit_grant := td.grant("g-audit", {"kind": "tables", "tables": ["acme-analytics.audit.events"]})
	granted := td.with_grants(_finance_and_audit, [audit_grant])
	next := approval.requested with input as granted
		with data.org.projects["acme-analytics"].datasets.audit as audit
	next.scope.datasets == ["acme-analytics.finance"]
}

test_bytes_approval_scoped_to_statement if {
	request := td.with_bytes(td.sales_select, 11 * td.gib)
	approval.requested == {
		"approver_groups": ["data-owners"],
		"min_approvals": 1,
		"grant_ttl_seconds": 3600,
		"request_ttl_seconds": 86400,
		"one_time": true,
		"scope": {"kind": "statement", "statement_hash": td.sales_select.sql.hash, "max_bytes": 11 * td.gib},
		"limits": data.org.approval_limits,
		"agent_groups": ["agents"],
	} with input as request
}

test_dataset_asked_before_bytes if {
	request := td.with_bytes(td.finance_select, 11 * td.gib)
	requested := approval.requested with input as request
	requested.scope.kind == "dataset"
	count(approval.reasons) == 2 with input as request

	granted := td.with_grants(request, [td.finance_grant])
	next := approval.requested with input as granted
	next.scope.kind == "statement"
	count(approval.grant_reasons) == 1 with input as granted
}

test_table_scope_names_the_tables_read if {
	finance := object.union(data.org.projects["acme-analytics"].datasets.finance, {"approval": {"scope": "table"}})
	requested := approval.requested with input as td.finance_select
		with data.org.projects["acme-analytics"].datasets.finance as finance
	requested.scope == {"kind": "tables", "tables": ["acme-analytics.finance.ledger"]}
}

test_statement_scope_binds_the_statement if {
	finance := object.union(data.org.projects["acme-analytics"].datasets.finance, {"approval": {"scope": "statement"}})
	requested := approval.requested with input as td.finance_select
		with data.org.projects["acme-analytics"].datasets.finance as finance
	hash := td.finance_select.sql.hash
	requested.scope == {"kind": "statement", "statement_hash": hash, "datasets": ["acme-analytics.finance"]}
}

test_limits_come_from_the_data if {
	requested := approval.requested with input as td.finance_select
		with data.org.approval_limits as {"max_open_requests": 3, "requests_per_minute": 5}
	requested.limits == {"max_open_requests": 3, "requests_per_minute": 5}
}
