package sluice.grants_test

import data.sluice.grants
import data.sluice.testdata_test as td

_finance := "acme-analytics.finance"

_grant(id, scope) := td.grant(id, scope)

_dataset_grant := _grant("g-dataset", {"kind": "dataset", "datasets": [_finance]})

_tables_grant := _grant("g-tables", {"kind": "tables", "tables": [td.ledger]})

_statement_scope := {"kind": "statement", "statement_hash": td.finance_select.sql.hash, "max_bytes": 11 * td.gib}

_statement_grant := _grant("g-statement", _statement_scope)

test_dataset_scope_covers_its_tables if {
	request := td.with_grants(td.finance_select, [_dataset_grant])
	grants.for_table(_finance, td.ledger) == _dataset_grant with input as request
}

test_tables_scope_covers_listed_table if {
	grants.for_table(_finance, td.ledger) == _tables_grant with input as td.with_grants(td.finance_select, [_tables_grant])
}

test_statement_scope_covers_same_text if {
	grant := object.union(_statement_grant, {"scope": {"datasets": [_finance]}})
	grants.for_table(_finance, td.ledger) == grant with input as td.with_grants(td.finance_select, [grant])
	grants.for_statement == _statement_grant with input as td.with_grants(td.finance_select, [_statement_grant])
}

test_statement_scope_other_text_covers_nothing if {
	grant := object.union(_statement_grant, {"scope": {"datasets": [_finance]}})
	request := td.with_grants(td.sales_select, [_statement_grant, grant])
	not grants.for_table(_finance, td.ledger) with input as request
	not grants.for_statement with input as request
}

test_dataset_scope_does_not_cover_statement if {
	not grants.for_statement with input as td.with_grants(td.finance_select, [_dataset_grant])
}

test_other_dataset_not_covered if {
	grant := _grant("g-crm", {"kind": "dataset", "datasets": ["acme-analytics.crm"]})
	not grants.for_table(_finance, td.ledger) with input as td.with_grants(td.finance_select, [grant])
}

# A scope counts only through the field its kind names.
test_scope_fields_of_another_kind_ignored if {
	grant := _grant("g-mixed", {"kind": "tables", "datasets": [_finance], "tables": []})
	not grants.for_table(_finance, td.ledger) with input as td.with_grants(td.finance_select, [grant])
}

test_expired_grant_ignored if {
	grant := object.union(_dataset_grant, {"expires_at": td.now.unix})
	count(grants.active) == 0 with input as td.with_grants(td.finance_select, [grant])
}

test_other_subject_ignored if {
	grant := object.union(_dataset_grant, {"subject": "someone@acme.example"})
	count(grants.active) == 0 with input as td.with_grants(td.finance_select, [grant])
}

test_reusable_grant_cited_before_one_time if {
	one_time := object.union(_grant("a-one-time", _dataset_grant.scope), {"one_time": true, "expires_at": td.now.unix + 9})
	request := td.with_grants(td.finance_select, [one_time, _dataset_grant])
	grant := grants.for_table(_finance, td.ledger) with input as request
	grant.id == "g-dataset"
}

test_longest_lived_grant_cited if {
	longer := object.union(_grant("z-longer", _dataset_grant.scope), {"expires_at": td.now.unix + 9000})
	request := td.with_grants(td.finance_select, [_dataset_grant, longer])
	grant := grants.for_table(_finance, td.ledger) with input as request
	grant.id == "z-longer"
}

# The byte threshold's grant (a statement scope naming no datasets) pays for the scan only: it
# is no grant to read a dataset whose approvers never saw the request, nor does it outlive the
# dataset grant it was asked after.
test_bytes_statement_grant_does_not_cover_a_read if {
	request := td.with_grants(td.finance_select, [_statement_grant])
	not grants.for_table(_finance, td.ledger) with input as request
	grants.for_statement == _statement_grant with input as request
}

# A dataset approval scoped to the statement names its datasets: it covers their reads in that
# statement, not another dataset's, and it does not pay for the byte threshold.
test_dataset_statement_grant_covers_its_datasets_only if {
	hash := td.finance_select.sql.hash
	grant := _grant("g-stmt-finance", {"kind": "statement", "statement_hash": hash, "datasets": [_finance]})
	request := td.with_grants(td.finance_select, [grant])
	grants.for_table(_finance, td.ledger) == grant with input as request
	not grants.for_table("acme-analytics.audit", "acme-analytics.audit.events") with input as request
	not grants.for_statement with input as request
}
