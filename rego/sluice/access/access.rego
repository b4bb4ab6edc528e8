# METADATA
# description: |
#   Who may read and write which dataset, from data.org.projects.*.datasets.*:
#   readers read; non-readers of a dataset with an `approval` need a just-in-time grant;
#   writers (never agents) write. Unknown tables are the catalog's to deny.
package sluice.access

import data.sluice.catalog
import data.sluice.grants
import data.sluice.identity

# [statement index, table ref, catalog entry] for each ref to a known table.
_known_refs contains [statement.index, ref, catalog.tables[ref.id]] if {
	some statement in input.sql.statements
	some ref in statement.tables
	catalog.ref_status[ref] == "known"
}

# Reads by a caller who is not among the dataset's readers.
_foreign_reads contains [index, ref, table] if {
	some [index, ref, table] in _known_refs
	ref.mode == "read"
	not identity.member_of(object.get(table.dataset_config, "readers", []))
}

deny_read contains reason if {
	some [index, ref, table] in _foreign_reads
	not table.dataset_config.approval
	reason := {
		"code": "dataset_access_denied",
		"message": sprintf("statement %d reads %s; the caller may not read dataset %s", [index, ref.id, table.dataset]),
		"rule": "sluice.access.deny_read",
		"statement": index,
	}
}

# Agents never write, whatever the data says; people write where they are writers.
deny_write contains reason if {
	some [index, ref, table] in _known_refs
	ref.mode != "read"
	not _may_write(table.dataset_config)
	reason := {
		"code": "write_access_denied",
		"message": sprintf("statement %d modifies %s (%s); the caller may not write to dataset %s", [
			index,
			ref.id,
			ref.mode,
			table.dataset,
		]),
		"rule": "sluice.access.deny_write",
		"statement": index,
	}
}

_may_write(dataset_config) if {
	not identity.is_agent
	identity.member_of(object.get(dataset_config, "writers", []))
}

# Reads by non-readers of a dataset that offers just-in-time approval.
_approvable contains [index, ref, table] if {
	some [index, ref, table] in _foreign_reads
	table.dataset_config.approval
}

# Approval requirements no active grant covers yet; sluice.approval turns them into the
# decision's `approval`.
pending contains need if {
	some [index, ref, table] in _approvable
	need := {"statement": index, "dataset": table.dataset, "table": ref.id, "approval": table.dataset_config.approval}
	not grants.for_table(table.dataset, ref.id)
}

approve_dataset contains reason if {
	some need in pending
	reason := {
		"code": "approval_required",
		"message": sprintf("statement %d reads %s; dataset %s needs a just-in-time grant approved by %s", [
			need.statement, need.table, need.dataset,
			concat(", ", need.approval.approver_groups),
		]),
		"rule": "sluice.access.approve_dataset",
		"statement": need.statement,
	}
}

grant_reasons contains reason if {
	some [index, ref, table] in _approvable
	grant := grants.for_table(table.dataset, ref.id)
	reason := {
		"code": "grant_used",
		"message": sprintf("grant %s (scope %s) allows statement %d to read %s", [grant.id, grant.scope.kind, index, ref.id]),
		"rule": "sluice.access.grant_reasons",
		"statement": index,
	}
}

deny := deny_read | deny_write
