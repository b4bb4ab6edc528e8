# METADATA
# description: |
#   Which of the caller's grants cover a dataset, a table or this exact SQL text (its scan).
#   A grant counts only for its own subject and only until it expires.
package sluice.grants

active contains grant if {
	some grant in input.grants
	grant.subject == input.identity.subject
	grant.expires_at > input.now.unix
}

# A scope counts only through the field its kind names. A statement grant reads only the
# datasets its approval was asked for (a dataset approval scoped to the statement names them):
# the byte threshold's grant, which names none, was approved for the scan, not for reading a
# dataset whose own approvers decide on it.
covers_table(grant, dataset_id, table_id) if {
	grant.scope.kind == "tables"
	table_id in grant.scope.tables
} else if {
	grant.scope.kind == "dataset"
	dataset_id in grant.scope.datasets
} else if {
	_same_statement(grant)
	dataset_id in grant.scope.datasets
}

# Only the byte threshold's grant (a statement scope naming no datasets) pays for the scan: a
# dataset approval scoped to the statement was given on that dataset's terms, not the bytes'.
# It pays for the scan the approver was shown (`max_bytes`, the estimate then) plus the billing
# headroom, not a larger one, which data grown since would bring. Under a cap, where the
# decision knows no bytes, the job is capped at that bound instead (estimate.rego).
covers_statement(grant) if {
	_same_statement(grant)
	not grant.scope.datasets
	_within_scan(grant)
}

_within_scan(grant) if {
	input.estimate.source == "cap"
	is_number(scan_bound(grant))
} else if {
	input.estimate.bytes <= scan_bound(grant)
}

# The most a statement grant pays for: the approved bytes plus the billing headroom.
scan_bound(grant) := ceil((grant.scope.max_bytes * (100 + data.org.bytes.maximum_bytes_billed.headroom_percent)) / 100)

_same_statement(grant) if {
	grant.scope.kind == "statement"
	grant.scope.statement_hash == input.sql.hash
}

# The grant to cite when several cover the same need: reusable before one-time ones (a
# one-time grant is spent on use), then the longest-lived, then by id.
_pick(candidates) := ranked[0][3] if {
	ranked := sort([[object.get(g, "one_time", false), 0 - g.expires_at, g.id, g] | some g in candidates])
}

for_table(dataset_id, table_id) := _pick({grant | some grant in active; covers_table(grant, dataset_id, table_id)})

for_statement := _pick({grant | some grant in active; covers_statement(grant)})

# Approval settings (a dataset's `approval`, `bytes.approval`) a request can be filed on: they
# name approvers, how many must approve and how long the grant lasts. Anything less (an empty
# mapping, a block without approver groups) offers no approval path, and what it would have let
# through is refused.
approvable(settings) if {
	is_object(settings)
	is_number(settings.min_approvals)
	settings.min_approvals >= 1
	is_number(settings.grant_ttl_seconds)
	settings.grant_ttl_seconds >= 1
	is_array(settings.approver_groups)
	count(settings.approver_groups) > 0
	every group in settings.approver_groups {
		is_string(group)
		group != ""
	}
}
