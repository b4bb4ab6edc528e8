# METADATA
# description: Who the caller is, as far as the policy cares.
package sluice.identity

# Agents are constrained more than people; the token's kind or a group says so. (Rules with
# one value are written with `else` throughout: separate bodies would all be evaluated, and
# WebAssembly evaluation pays for each.)
is_agent if {
	input.identity.kind == "agent"
} else if {
	some group in agent_groups
	group in input.identity.groups
}

# The agent groups as a list: one group written where a list belongs (YAML `agent_groups:
# agents`) still names its members agents, rather than none. An approval names them too: no
# member decides on it, whatever kind its token says.
default agent_groups := []

agent_groups := groups if {
	groups := data.org.identity.agent_groups
	is_array(groups)
} else := [groups] if {
	groups := data.org.identity.agent_groups
	is_string(groups)
}

# "*" stands for every authenticated identity, which every evaluated request has.
member_of(groups) if {
	"*" in groups
} else if {
	some group in groups
	group in input.identity.groups
}
