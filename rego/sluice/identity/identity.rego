# METADATA
# description: Who the caller is, as far as the policy cares.
package sluice.identity

# Agents are constrained more than people; the token's kind or a group says so.
is_agent if input.identity.kind == "agent"

is_agent if {
	some group in data.org.identity.agent_groups
	group in input.identity.groups
}

# "*" stands for every authenticated identity, which every evaluated request has.
member_of(groups) if "*" in groups

member_of(groups) if {
	some group in groups
	group in input.identity.groups
}
