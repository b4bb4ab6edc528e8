# METADATA
# description: |
#   Turns pending approval requirements into the one `approval` a decision carries.
#   Dataset requirements with identical settings share one dataset-scoped grant; different
#   requirements are asked for one after another, the next on re-evaluation once the
#   previous grant exists: first datasets (by name), then the byte threshold.
package sluice.approval

import data.sluice.access
import data.sluice.estimate

_requests contains [[0, datasets[0]], object.union(settings, {"scope": {"kind": "dataset", "datasets": datasets}})] if {
	some settings in {need.approval | some need in access.pending}
	datasets := sort({need.dataset | some need in access.pending; need.approval == settings})
}

_requests contains [[1, ""], object.union(data.org.bytes.approval, {"scope": scope})] if {
	estimate.needs_approval
	scope := {"kind": "statement", "statement_hash": input.sql.hash}
}

requested := sort(_requests)[0][1]

reasons := access.approve_dataset | estimate.approve_bytes

grant_reasons := access.grant_reasons | estimate.grant_reasons
