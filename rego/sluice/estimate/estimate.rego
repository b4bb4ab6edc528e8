# METADATA
# description: |
#   The request's bytes against data.org.bytes, by what `input.estimate.source` says they
#   are. An estimate before running (`dry_run`, `caller`): expensive scans need a
#   statement-scoped grant, very expensive ones are denied, and the job is capped close to
#   the estimate the decision was made on. No figure yet (`cap`): nothing is judged on
#   bytes, and the job is capped at the lowest threshold that would change the outcome,
#   which BigQuery enforces. A finished job's figures (`job`): the same rules as for an
#   estimate, applied to what the job reported.
package sluice.estimate

import data.sluice.grants

_reads_tables if {
	some statement in input.sql.statements
	count(statement.tables) > 0
}

# Reads a stored table: INFORMATION_SCHEMA views are metadata, which a dry run does not list.
_reads_stored_tables if {
	some statement in input.sql.statements
	some table in statement.tables
	table.mode == "read"
	not endswith(table.dataset, ".information_schema")
}

_cap if input.estimate.source == "cap"

_job if input.estimate.source == "job"

# Messages by who reported the figures: a finished job, else the dry run (figures from
# `caller` have always been worded as a dry run's).
default _named_by := "BigQuery's dry run"

_named_by := "the finished BigQuery job" if _job

default _reads := " reads "

_reads := " read " if _job

default _scans := "the request would scan %d bytes"

_scans := "the job processed %d bytes" if _job

# `deny` is one rule with a body per check (each reason's `rule` names the check). Byte
# counts are formatted by sprintf, exactly as always, whatever their size.

# deny_missing: without an estimate the thresholds cannot be applied. A statement without
# tables (SELECT 1) scans nothing and needs none. A `cap` estimate counts: BigQuery holds
# the job to the thresholds instead.
deny contains reason if {
	data.org.bytes.require_estimate == true
	not input.estimate
	_reads_tables
	reason := {
		"code": "estimate_missing",
		"message": "the request reads tables but carries no byte estimate",
		"rule": "sluice.estimate.deny_missing",
	}
}

# deny_malformed_thresholds: a byte threshold set to something other than a number (a quoted
# figure, say) would never be crossed, as Rego orders every number below every string: every
# request is refused until the data is fixed, rather than judged without the threshold.
deny contains reason if {
	some name in ["approve_above", "deny_above"]
	value := data.org.bytes[name]
	not is_number(value)
	reason := {
		"code": "policy_data_invalid",
		"message": sprintf("the policy data's bytes.%s is %v, not a number of bytes", [name, value]),
		"rule": "sluice.estimate.deny_malformed_thresholds",
	}
}

# deny_unparsed_tables: BigQuery read a table the parser did not see (in its dry run or the
# finished job's statistics), so the policy judged the wrong statement.
deny contains reason if {
	some table in input.estimate.unparsed_tables
	reason := {
		"code": "unparsed_table_reference",
		"message": concat("", [_named_by, _reads, table, ", which no parsed statement names"]),
		"rule": "sluice.estimate.deny_unparsed_tables",
	}
}

# deny_referenced_tables_missing: the connection's upstream names every table a query reads
# in its dry run and job statistics (`referenced_tables_expected`), yet this one named none
# while the statements read tables. Whatever the parser missed could not be cross-checked,
# so the read is refused. A `cap` estimate names no tables: nothing has run yet.
deny contains reason if {
	input.estimate.referenced_tables_expected == true
	not _cap
	count(object.get(input.estimate, "referenced_tables", [])) == 0
	_reads_stored_tables
	reason := {
		"code": "referenced_tables_missing",
		"message": concat("", [
			_named_by,
			" named none of the tables this query reads, so the parser's reading cannot be checked",
		]),
		"rule": "sluice.estimate.deny_referenced_tables_missing",
	}
}

# deny_over_limit: a `cap` estimate has no bytes (BigQuery refuses the job instead).
deny contains reason if {
	deny_above := data.org.bytes.deny_above
	input.estimate.bytes > deny_above
	reason := {
		"code": "bytes_limit_exceeded",
		"message": sprintf(concat("", [_scans, ", more than the %d allowed"]), [input.estimate.bytes, deny_above]),
		"rule": "sluice.estimate.deny_over_limit",
	}
}

# deny_unapprovable: more than approve_above, with no statement grant for it and no approvers
# to ask (`bytes.approval` names none): refused, not let through for want of someone to ask.
deny contains reason if {
	needs_approval
	not grants.approvable(data.org.bytes.approval)
	reason := {
		"code": "bytes_limit_exceeded",
		"message": sprintf(
			concat("", [_scans, ", more than the %d allowed without approval, and no approvers are configured"]),
			[input.estimate.bytes, data.org.bytes.approve_above],
		),
		"rule": "sluice.estimate.deny_unapprovable",
	}
}

# A `cap` estimate has no bytes: BigQuery refuses the job above the threshold instead.
_over_approval_threshold if input.estimate.bytes > data.org.bytes.approve_above

# Only a grant for this exact SQL text covers its cost. `job` figures are judged the same
# way: a one-time grant is spent before the job runs, so a job judged without the grants
# its run was decided with asks for approval again.
needs_approval if {
	_over_approval_threshold
	not grants.for_statement
}

approve_bytes contains reason if {
	needs_approval
	bytes := data.org.bytes
	grants.approvable(bytes.approval)
	reason := {
		"code": "bytes_approval_required",
		"message": sprintf(concat("", [_scans, ", more than %d without approval by %s"]), [
			input.estimate.bytes, bytes.approve_above,
			concat(", ", bytes.approval.approver_groups),
		]),
		"rule": "sluice.estimate.approve_bytes",
	}
}

grant_reasons contains reason if {
	_over_approval_threshold
	grant := grants.for_statement
	reason := {
		"code": "grant_used",
		"message": sprintf("grant %s (scope statement) allows scanning %d bytes", [grant.id, input.estimate.bytes]),
		"rule": "sluice.estimate.grant_reasons",
		"grant": grant.id,
	}
}

# cap: the statement grant is what lifts the job's cap above approve_above, so it is used
# (and a one-time grant spent) on this run.
grant_reasons contains reason if {
	_cap
	maximum_bytes_billed > _cap_limit({data.org.bytes.deny_above, data.org.bytes.approve_above})
	grant := grants.for_statement
	reason := {
		"code": "grant_used",
		"message": sprintf("grant %s (scope statement) allows billing up to %d bytes", [grant.id, maximum_bytes_billed]),
		"rule": "sluice.estimate.grant_reasons",
		"grant": grant.id,
	}
}

# The byte thresholds above which this caller's outcome would change: deny_above, and
# approve_above unless a statement grant already pays for the scan, and then the most it pays for.
_cap_thresholds contains data.org.bytes.deny_above

_cap_thresholds contains data.org.bytes.approve_above if not grants.for_statement

_cap_thresholds contains grants.scan_bound(grants.for_statement)

# The lowest of the thresholds, at most `maximum_bytes_billed.cap` and at least 10 MiB
# (10485760): BigQuery bills a query at least 10 MiB, so under a lower maximumBytesBilled
# every job fails (bytesBilledLimitExceeded). A cap below 10 MiB still wins: the
# organisation's ceiling is never raised, and BigQuery refuses the job at no cost.
# Bytes billed are at least the bytes processed the thresholds are about, so a job that
# fits runs as the estimate would have decided; one that does not is refused, and the
# gateway dry-runs it and decides again on the estimate.
_cap_limit(thresholds) := min([
	data.org.bytes.maximum_bytes_billed.cap,
	max([10485760, min(thresholds)]),
])

# cap: the lowest threshold that would change the outcome. Otherwise the estimate plus
# headroom, rounded up, within [floor, cap]: BigQuery itself refuses a job that would bill
# far more than the estimate this decision was made on. A scan over approve_above runs on
# the statement grant that pays for it, which pays for no more than its bound: the job is
# capped there too, as under `cap`, not at the estimate plus headroom, which would add the
# headroom a second time to data grown since the approval.
maximum_bytes_billed := _cap_limit(_cap_thresholds) if {
	_cap
} else := min([_estimate_limit, grants.scan_bound(grant)]) if {
	_over_approval_threshold
	grant := grants.for_statement
} else := _estimate_limit

# The estimate plus headroom, rounded up, within [floor, cap]; the floor without an estimate.
_estimate_limit := min([limits.cap, max([limits.floor, with_headroom])]) if {
	limits := data.org.bytes.maximum_bytes_billed
	with_headroom := ceil((input.estimate.bytes * (100 + limits.headroom_percent)) / 100)
} else := data.org.bytes.maximum_bytes_billed.floor
