# METADATA
# description: |
#   Turns pending approval requirements into the one `approval` a decision carries.
#   Dataset requirements with identical settings share one dataset-scoped grant; different
#   requirements are asked for one after another, the next on re-evaluation once the
#   previous grant exists: first datasets (by name), then the byte threshold.
package sluice.approval

import data.sluice.access
import data.sluice.estimate
import data.sluice.identity

_requests contains [[0, datasets[0]], _terms(settings, _scope(settings, datasets, tables))] if {
	some settings in {need.approval | some need in access.pending}
	datasets := sort({need.dataset | some need in access.pending; need.approval == settings})
	tables := sort({need.table | some need in access.pending; need.approval == settings})
}

# The byte threshold's approval names the bytes the approver is shown: its grant pays for no more.
_requests contains [[1, ""], _terms(data.org.bytes.approval, _bytes_scope)] if {
	estimate.needs_approval
}

_bytes_scope := object.union(_statement_scope, {"max_bytes": input.estimate.bytes})

# What a grant covers, as the dataset's approval settings choose (`scope`): the datasets read
# (default), only the tables read, or this statement only (its text and parameters), naming
# the datasets it may read so that the grant is not taken for the byte threshold's.
_scope(settings, datasets, _) := {"kind": "dataset", "datasets": datasets} if {
	object.get(settings, "scope", "dataset") == "dataset"
}

_scope(settings, _, tables) := {"kind": "tables", "tables": tables} if {
	settings.scope == "table"
}

_scope(settings, datasets, _) := object.union(_statement_scope, {"datasets": datasets}) if {
	settings.scope == "statement"
}

_statement_scope := {"kind": "statement", "statement_hash": input.sql.hash}

# The decision's approval: the settings with their scope, the agent groups (none of whose
# members decides on it, whatever kind its token says), and the bounds on how many requests one
# identity may file (data.org.approval_limits) when the data names them.
_terms(settings, scope) := object.union(_with_agents(settings), {"scope": scope, "limits": data.org.approval_limits})

_terms(settings, scope) := object.union(_with_agents(settings), {"scope": scope}) if not data.org.approval_limits

_with_agents(settings) := object.union(settings, _agents)

default _agents := {}

_agents := {"agent_groups": identity.agent_groups} if count(identity.agent_groups) > 0

requested := sort(_requests)[0][1]

reasons := access.approve_dataset | estimate.approve_bytes

grant_reasons := access.grant_reasons | estimate.grant_reasons
