# METADATA
# description: Who the caller is, as far as the policy cares.
package sluice.identity

# Agents are constrained more than people; the token's kind or a group says so. (Rules with
# one value are written with `else` throughout: separate bodies would all be evaluated, and
# WebAssembly evaluation pays for each.)
is_agent if {
	input.identity.kind == "agent"
} else if {
	some group in data.org.identity.agent_groups
	group in input.identity.groups
}

# "*" stands for every authenticated identity, which every evaluated request has.
member_of(groups) if {
	"*" in groups
} else if {
	some group in groups
	group in input.identity.groups
}
