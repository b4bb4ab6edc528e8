# METADATA
# description: |
#   The dry-run byte estimate against data.org.bytes: expensive scans need a
#   statement-scoped grant, very expensive ones are denied, and the job is capped close to
#   the estimate the decision was made on.
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

# `deny` is one rule with a body per check (each reason's `rule` names the check). Byte
# counts are formatted by sprintf, exactly as always, whatever their size.

# deny_missing: without an estimate the thresholds cannot be applied. A statement without
# tables (SELECT 1) scans nothing and needs none.
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

# deny_unparsed_tables: BigQuery read a table the parser did not see, so the policy judged
# the wrong statement.
deny contains reason if {
	some table in input.estimate.unparsed_tables
	reason := {
		"code": "unparsed_table_reference",
		"message": concat("", ["BigQuery's dry run reads ", table, ", which no parsed statement names"]),
		"rule": "sluice.estimate.deny_unparsed_tables",
	}
}

# deny_referenced_tables_missing: the connection's upstream names every table a query reads
# in its dry run (`referenced_tables_expected`), yet this one named none while the statements
# read tables. Whatever the parser missed could not be cross-checked, so the read is refused.
deny contains reason if {
	input.estimate.referenced_tables_expected == true
	count(object.get(input.estimate, "referenced_tables", [])) == 0
	_reads_stored_tables
	reason := {
		"code": "referenced_tables_missing",
		"message": "BigQuery's dry run named none of the tables this query reads, so the parser's reading cannot be checked",
		"rule": "sluice.estimate.deny_referenced_tables_missing",
	}
}

# deny_over_limit
deny contains reason if {
	deny_above := data.org.bytes.deny_above
	input.estimate.bytes > deny_above
	reason := {
		"code": "bytes_limit_exceeded",
		"message": sprintf("the request would scan %d bytes, more than the %d allowed", [input.estimate.bytes, deny_above]),
		"rule": "sluice.estimate.deny_over_limit",
	}
}

_over_approval_threshold if input.estimate.bytes > data.org.bytes.approve_above

# Only a grant for this exact SQL text covers its cost.
needs_approval if {
	_over_approval_threshold
	not grants.for_statement
}

approve_bytes contains reason if {
	needs_approval
	bytes := data.org.bytes
	reason := {
		"code": "bytes_approval_required",
		"message": sprintf("the request would scan %d bytes, more than %d without approval by %s", [
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

# The estimate plus headroom, rounded up, within [floor, cap]: BigQuery itself refuses a
# job that would bill far more than the estimate this decision was made on.
maximum_bytes_billed := min([limits.cap, max([limits.floor, with_headroom])]) if {
	limits := data.org.bytes.maximum_bytes_billed
	with_headroom := ceil((input.estimate.bytes * (100 + limits.headroom_percent)) / 100)
} else := data.org.bytes.maximum_bytes_billed.floor
