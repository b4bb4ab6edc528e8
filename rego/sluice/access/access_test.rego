package sluice.access_test

import data.sluice.access
import data.sluice.testdata_test as td

_codes(reasons) := {reason.code | some reason in reasons}

test_everyone_reads_sales if {
	count(access.deny) == 0 with input as td.sales_select
	count(access.pending) == 0 with input as td.sales_select
}

test_finance_needs_approval if {
	access.pending == {{
		"statement": 0,
		"dataset": "acme-analytics.finance",
		"table": td.ledger,
		"approval": {
			"approver_groups": ["data-owners"],
			"min_approvals": 1,
			"grant_ttl_seconds": 3600,
			"request_ttl_seconds": 86400,
		},
	}} with input as td.finance_select
	count(access.deny) == 0 with input as td.finance_select
}

# An approval block with nothing in it (YAML `approval:` is null) is no approval path: the read
# is denied, not let through for want of approvers to ask.
test_empty_approval_entry_denies_non_readers if {
	_codes(access.deny) == {"dataset_access_denied"} with input as td.finance_select
		with data.org.projects["acme-analytics"].datasets.finance.approval as null
	count(access.pending) == 0 with input as td.finance_select
		with data.org.projects["acme-analytics"].datasets.finance.approval as null
}

test_approval_reason_names_approvers if {
	reasons := access.approve_dataset with input as td.finance_select
	_codes(reasons) == {"approval_required"}
	some reason in reasons
	contains(reason.message, "data-owners")
	reason.statement == 0
}

test_grant_allows_finance_and_is_cited if {
	request := td.with_grants(td.finance_select, [td.finance_grant])
	count(access.pending) == 0 with input as request
	reasons := access.grant_reasons with input as request
	_codes(reasons) == {"grant_used"}
	some reason in reasons
	contains(reason.message, "g-finance")
}

test_expired_grant_does_not_allow if {
	grant := object.union(td.finance_grant, {"expires_at": td.now.unix - 1})
	count(access.pending) == 1 with input as td.with_grants(td.finance_select, [grant])
}

test_readers_come_from_data if {
	request := td.with_identity(td.finance_select, td.analyst)
	count(access.pending) == 0 with input as request
		with data.org.projects["acme-analytics"].datasets.finance.readers as ["analysts"]
	count(access.pending) == 1 with input as request
}

# `with` merges into data, so a new dataset stands in for one without an approval path.
test_no_approval_path_denied if {
	hr := {"readers": ["hr"], "tables": {"people": {}}}
	people := td.ref("acme-analytics.hr.people", "read")
	request := object.union(td.finance_select, {"sql": {"statements": [td.statement(0, "SELECT", "read", [people], [])]}})
	reasons := access.deny with input as request
		with data.org.projects["acme-analytics"].datasets.hr as hr
	_codes(reasons) == {"dataset_access_denied"}
	count(access.deny) == 0 with input as td.with_identity(request, object.union(td.analyst, {"groups": ["hr"]}))
		with data.org.projects["acme-analytics"].datasets.hr as hr
}

test_writer_may_write if {
	count(access.deny) == 0 with input as td.select_then_delete
}

test_non_writer_may_not_write if {
	reasons := access.deny with input as td.with_identity(td.select_then_delete, td.analyst)
	_codes(reasons) == {"write_access_denied"}
}

test_agent_never_writes_even_as_writer if {
	reasons := access.deny with input as td.with_identity(td.select_then_delete, td.grouped_agent)
	_codes(reasons) == {"write_access_denied"}
}

test_ddl_mode_needs_writer if {
	_codes(access.deny) == {"write_access_denied"} with input as td.with_identity(td.drop_table, td.analyst)
	count(access.deny) == 0 with input as td.drop_table
}

test_unknown_tables_left_to_catalog if {
	count(access.deny) == 0 with input as td.information_schema
}

# A writer copying finance rows into sales (which everyone reads) through a finance grant.
_copy_tables := [td.ref(td.orders, "write"), td.ref(td.ledger, "read")]

_finance_copy := object.union(td.finance_select, {
	"identity": td.engineer,
	"sql": {"statements": [td.statement(0, "INSERT", "write", _copy_tables, [])]},
	"grants": [object.union(td.finance_grant, {"subject": td.engineer.subject})],
})

test_granted_read_is_not_copied if {
	reasons := access.deny with input as _finance_copy
	_codes(reasons) == {"granted_read_write_denied"}
}

test_reader_copies_what_it_reads if {
	finance := object.union(data.org.projects["acme-analytics"].datasets.finance, {"readers": ["data-engineers"]})
	count(access.deny) == 0 with input as _finance_copy
		with data.org.projects["acme-analytics"].datasets.finance as finance
}
