# METADATA
# description: |
#   The entrypoint, sluice/decision: one decision document (schemas/decision.schema.json)
#   from every package's verdicts. deny beats approve beats mask beats allow, and anything
#   the policy cannot decide is a deny.
package sluice

import data.sluice.access
import data.sluice.approval
import data.sluice.catalog
import data.sluice.estimate
import data.sluice.masking
import data.sluice.statements

# METADATA
# title: Decision
# description: |
#   The whole decision document for the request in input. The default is reached only
#   when no verdict can be formed (incomplete data, a bug): never allow then.
# entrypoint: true
default decision := {
	"outcome": "deny",
	"reasons": {{
		"code": "policy_error",
		"message": "the policy could not reach a decision",
		"rule": "sluice.decision",
	}},
	"masks": set(),
}

# Reasons and masks are sets, printed as arrays: the engine lists them in OPA's order of
# values, as `opa eval` prints a set. Sorting in WASM costs the square of their number (a
# query masking 2,000 columns held the gateway for seconds).
decision := {"outcome": "deny", "reasons": deny_reasons, "masks": set()} if outcome == "deny"

decision := {
	"outcome": "approve",
	"reasons": (approval.reasons | approval.grant_reasons),
	"masks": set(),
	"approval": approval.requested,
} if {
	outcome == "approve"
}

# What an allowed request runs with: a bytes cap, a short-lived credential, and the content scan
# where configured. (Written out rather than joined with object.union, which costs as much as
# the rest of building the decision.)
decision := {
	"outcome": outcome,
	"reasons": (masking.mask_reasons | approval.grant_reasons),
	"masks": masking.masks,
	"limits": {"maximum_bytes_billed": _bytes_billed},
	"credential_ttl_seconds": _ttl,
	"content_scan": scan,
} if {
	outcome in {"mask", "allow"}
	scan := masking.content_scan
} else := {
	"outcome": outcome,
	"reasons": (masking.mask_reasons | approval.grant_reasons),
	"masks": masking.masks,
	"limits": {"maximum_bytes_billed": _bytes_billed},
	"credential_ttl_seconds": _ttl,
} if {
	outcome in {"mask", "allow"}
}

outcome := "deny" if {
	count(deny_reasons) > 0
} else := "approve" if {
	count(approval.reasons) > 0
} else := "mask" if {
	count(masking.masks) > 0
} else := "allow" if {
	_well_formed_input
}

# Joined two at a time: `union` takes a set of sets, and building one compares whole sets,
# which WASM does by sorting them (2,000 reasons held the gateway for seconds).
deny_reasons := ((((deny_invalid_input | statements.deny) | catalog.deny) | access.deny) | masking.deny) | estimate.deny

# The job's byte cap and the credential's lifetime; either missing or not a number leaves the
# decision to its default (policy_error).
_bytes_billed := estimate.maximum_bytes_billed if is_number(estimate.maximum_bytes_billed)

_ttl := data.org.credential_ttl_seconds if is_number(data.org.credential_ttl_seconds)

# Rules iterate over these; a missing or mistyped one would silently skip checks.
deny_invalid_input contains reason if {
	not _well_formed_input
	reason := {
		"code": "invalid_input",
		"message": "the input lacks the identity, clock, request, SQL or grants every decision needs",
		"rule": "sluice.deny_invalid_input",
	}
}

_well_formed_input if {
	is_string(input.identity.subject)
	input.identity.subject != ""
	is_array(input.identity.groups)
	is_number(input.now.unix)
	is_string(input.request.project)
	is_string(input.sql.hash)
	is_array(input.sql.statements)
	is_array(input.grants)
	every statement in input.sql.statements {
		_well_formed_statement(statement)
	}
}

_well_formed_statement(statement) if {
	is_number(statement.index)
	is_string(statement.category)
	is_boolean(statement.parsed)
	is_array(statement.tables)
	is_array(statement.columns)
	is_array(statement.predicate_columns)
	is_array(statement.outputs)
	every output in statement.outputs {
		is_string(output.name)
		is_array(output.sources)
		is_boolean(output.direct)
	}
}
