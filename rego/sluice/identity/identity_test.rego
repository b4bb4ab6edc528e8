package sluice.identity_test

import data.sluice.identity

test_agent_by_kind if {
	identity.is_agent with input.identity as {"kind": "agent", "groups": []}
}

test_agent_by_group if {
	identity.is_agent with input.identity as {"kind": "human", "groups": ["agents"]}
}

test_agent_by_group_named_alone if {
	identity.is_agent with input.identity as {"kind": "human", "groups": ["agents"]}
		with data.org.identity.agent_groups as "agents"
	not identity.is_agent with input.identity as {"kind": "human", "groups": ["analysts"]}
		with data.org.identity.agent_groups as "agents"
}

test_human_not_agent if {
	not identity.is_agent with input.identity as {"kind": "human", "groups": ["analysts"]}
}

test_member_of_listed_group if {
	identity.member_of(["x", "analysts"]) with input.identity as {"groups": ["analysts"]}
}

test_member_of_star if {
	identity.member_of(["*"]) with input.identity as {"groups": []}
}

test_not_member if {
	not identity.member_of(["pii-readers"]) with input.identity as {"groups": ["analysts"]}
}

test_not_member_of_empty if {
	not identity.member_of([]) with input.identity as {"groups": ["analysts"]}
}
