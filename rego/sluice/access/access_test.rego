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

# DELETE FROM `acme-analytics.finance.ledger` WHERE amount > 1000, by a writer of finance who
# is not among its readers: the WHERE reads the rows (how many match, or an ERROR() quoting a
# value), so the delete is a read of finance too.
_writer_delete := td.request(
	td.engineer,
	"DELETE FROM `acme-analytics.finance.ledger` WHERE amount > 1000",
	"0000000000000000000000000000000000000000000000000000000000000001",
	[object.union(
		td.statement(0, "DELETE", "write", [td.ref(td.ledger, "write")], []),
		{"columns": [td.col(td.ledger, "amount")], "predicate_columns": [td.col(td.ledger, "amount")]},
	)],
	1024,
)

_finance_writers := object.union(data.org.projects["acme-analytics"].datasets.finance, {"writers": ["data-engineers"]})

test_update_or_delete_target_is_read if {
	reasons := access.approve_dataset with input as _writer_delete
		with data.org.projects["acme-analytics"].datasets.finance as _finance_writers
	_codes(reasons) == {"approval_required"}
	count(access.deny) == 0 with input as _writer_delete
		with data.org.projects["acme-analytics"].datasets.finance as _finance_writers

	update := json.patch(_writer_delete, [{"op": "replace", "path": "/sql/statements/0/type", "value": "UPDATE"}])
	_codes(access.approve_dataset) == {"approval_required"} with input as update
		with data.org.projects["acme-analytics"].datasets.finance as _finance_writers
}

test_update_or_delete_target_without_approval_path_is_denied if {
	no_approval := json.remove(_finance_writers, ["approval"])
	_codes(access.deny) == {"dataset_access_denied"} with input as _writer_delete
		with data.org.projects["acme-analytics"].datasets.finance as no_approval
}

# A grant to read finance covers the rows a delete reads there; they are not copied anywhere.
test_granted_delete_reads_through_the_grant if {
	grant := object.union(td.finance_grant, {"subject": td.engineer.subject})
	request := td.with_grants(_writer_delete, [grant])
	count(access.deny) == 0 with input as request
		with data.org.projects["acme-analytics"].datasets.finance as _finance_writers
	count(access.pending) == 0 with input as request
		with data.org.projects["acme-analytics"].datasets.finance as _finance_writers
	_codes(access.grant_reasons) == {"grant_used"} with input as request
		with data.org.projects["acme-analytics"].datasets.finance as _finance_writers
}

# An INSERT reads nothing of its target: writers need not be readers for it.
test_insert_target_is_not_read if {
	insert := json.patch(_writer_delete, [{"op": "replace", "path": "/sql/statements/0/type", "value": "INSERT"}])
	count(access.deny) == 0 with input as insert
		with data.org.projects["acme-analytics"].datasets.finance as _finance_writers
	count(access.pending) == 0 with input as insert
		with data.org.projects["acme-analytics"].datasets.finance as _finance_writers
}

# An approval block that names no approvers (none listed, or one name where a list belongs) is no
# approval path either: the read is denied, not let through for want of someone to ask.
test_approval_without_approvers_denies_non_readers if {
	_codes(access.deny) == {"dataset_access_denied"} with input as td.finance_select
		with data.org.projects["acme-analytics"].datasets.finance.approval.min_approvals as null
	every groups in [[], "data-owners", [""]] {
		_codes(access.deny) == {"dataset_access_denied"} with input as td.finance_select
			with data.org.projects["acme-analytics"].datasets.finance.approval.approver_groups as groups
		count(access.pending) == 0 with input as td.finance_select
			with data.org.projects["acme-analytics"].datasets.finance.approval.approver_groups as groups
	}
}
