# METADATA
# description: |
#   Who may read and write which dataset, from data.org.projects.*.datasets.*:
#   readers read; non-readers of a dataset with an `approval` need a just-in-time grant;
#   writers (never agents) write. Unknown tables are the catalog's to deny.
package sluice.access

import data.sluice.catalog
import data.sluice.grants
import data.sluice.identity

# The tables a statement reads: its `read` refs, and the target of an UPDATE or DELETE, whose
# rows it reads (its WHERE and SET values see them, a failing expression quotes them, the count
# of rows changed tells how many match), as a MERGE's target is read. Its rows stay where they
# were, so a grant to read them lets them be changed (deny_granted_read_write is about copies).
# (A function, not a set of [statement, ref] pairs: a set hashes each whole statement it holds,
# which cost a quarter of a decision's policy time.)
_reads_rows(statement, ref) if {
	ref.mode == "read"
} else if {
	ref.mode == "write"
	statement.type in {"UPDATE", "DELETE"}
}

# Reads of a known table by a caller who is not among its dataset's readers:
# [statement index, table ref, the dataset's approval settings or false when it has none].
_foreign_reads contains [statement.index, ref, _approval(dataset)] if {
	some [statement, ref, dataset] in catalog.refs
	_reads_rows(statement, ref)
	dataset != false
	not identity.member_of(object.get(dataset, "readers", []))
}

# An approval block that names no approvers (YAML `approval:` with nothing under it is null, `{}`
# or a block without approver_groups) offers no approval path.
_approval(dataset) := dataset.approval if {
	grants.approvable(dataset.approval)
} else := false

# `deny` is one rule with a body per check (each reason's `rule` names the check).

# deny_read: the dataset offers no approval path.
deny contains reason if {
	some [index, ref, approval] in _foreign_reads
	not approval
	reason := {
		"code": "dataset_access_denied",
		"message": concat("", [
			"statement ", format_int(index, 10), " reads ", ref.id,
			"; the caller may not read dataset ", _dataset_id(ref),
		]),
		"rule": "sluice.access.deny_read",
		"statement": index,
	}
}

# deny_write: agents never write, whatever the data says; people write where they are
# writers.
deny contains reason if {
	some [statement, ref, dataset] in catalog.refs
	ref.mode != "read"
	dataset != false
	not _may_write(dataset)
	reason := {
		"code": "write_access_denied",
		"message": concat("", [
			"statement ", format_int(statement.index, 10), " modifies ", ref.id, " (", ref.mode,
			"); the caller may not write to dataset ", _dataset_id(ref),
		]),
		"rule": "sluice.access.deny_write",
		"statement": statement.index,
	}
}

# deny_granted_read_write: a just-in-time grant lets its holder read a dataset until it expires
# or is revoked. A statement that writes (or defines, or exports) while reading a dataset the
# caller reads only through such a grant would copy its rows where other readers reach them and
# where neither expiry nor revocation follows: refused, whatever grant the caller holds.
deny contains reason if {
	some [statement, ref, dataset] in catalog.refs
	statement.category != "read"
	ref.mode == "read"
	dataset.approval
	not identity.member_of(object.get(dataset, "readers", []))
	reason := {
		"code": "granted_read_write_denied",
		"message": concat("", [
			"statement ", format_int(statement.index, 10), " is ", statement.category, " and reads ", ref.id,
			"; dataset ", _dataset_id(ref), " is readable by the caller only through a just-in-time grant,",
			" which does not let it copy rows",
		]),
		"rule": "sluice.access.deny_granted_read_write",
		"statement": statement.index,
	}
}

_may_write(dataset_config) if {
	not identity.is_agent
	identity.member_of(object.get(dataset_config, "writers", []))
}

# A known table's id is its parts joined, so its dataset is the first two.
_dataset_id(ref) := concat(".", [ref.project, ref.dataset])

# Approval requirements no active grant covers yet; sluice.approval turns them into the
# decision's `approval`.
pending contains need if {
	some [index, ref, approval] in _foreign_reads
	approval
	dataset_id := _dataset_id(ref)
	not grants.for_table(dataset_id, ref.id)
	need := {"statement": index, "dataset": dataset_id, "table": ref.id, "approval": approval}
}

approve_dataset contains reason if {
	some need in pending
	reason := {
		"code": "approval_required",
		"message": concat("", [
			"statement ", format_int(need.statement, 10), " reads ", need.table,
			"; dataset ", need.dataset, " needs a just-in-time grant approved by ",
			concat(", ", need.approval.approver_groups),
		]),
		"rule": "sluice.access.approve_dataset",
		"statement": need.statement,
	}
}

grant_reasons contains reason if {
	some [index, ref, approval] in _foreign_reads
	approval
	grant := grants.for_table(_dataset_id(ref), ref.id)
	reason := {
		"code": "grant_used",
		"message": concat("", [
			"grant ", grant.id, " (scope ", grant.scope.kind, ") allows statement ",
			format_int(index, 10), " to read ", ref.id,
		]),
		"rule": "sluice.access.grant_reasons",
		"statement": index,
		"grant": grant.id,
	}
}
