# METADATA
# description: |
#   Example input documents (schemas/input.schema.json) shared by the tests, shaped exactly
#   as the normalizer produces them. Test-only: no rule of the policy reads this package.
package sluice.testdata_test

now := {"unix": 1767225600, "rfc3339": "2026-01-01T00:00:00Z"}

# Identities

_identity(subject, kind, groups) := {
	"subject": subject,
	"issuer": "https://idp.acme.example",
	"kind": kind,
	"groups": groups,
	"claims": {"email": subject},
}

agent := _identity("report-bot@agents.acme.example", "agent", ["agents"])

# An agent whose token says human: the agents group still makes it one.
grouped_agent := _identity("etl-bot@agents.acme.example", "human", ["agents", "data-engineers"])

analyst := _identity("ana@acme.example", "human", ["analysts"])

pii_reader := _identity("pia@acme.example", "human", ["analysts", "pii-readers"])

engineer := _identity("eng@acme.example", "human", ["data-engineers"])

# Building blocks

# A table name may hold dots (information_schema.columns).
ref(id, mode) := {"id": id, "project": parts[0], "dataset": parts[1], "table": table, "mode": mode} if {
	parts := split(id, ".")
	table := concat(".", array.slice(parts, 2, count(parts)))
}

col(table, column) := {"table": table, "column": column}

direct(index, name, table, column) := {
	"index": index,
	"name": name,
	"sources": [col(table, column)],
	"lineage": "known",
	"direct": true,
}

derived(index, name, sources) := {
	"index": index,
	"name": name,
	"sources": sources,
	"lineage": "known",
	"direct": false,
}

statement(index, type, category, tables, outputs) := {
	"index": index,
	"type": type,
	"category": category,
	"parsed": true,
	"tables": tables,
	"columns": [source | some output in outputs; some source in output.sources],
	"predicate_columns": [],
	"functions": [],
	"outputs": outputs,
}

request(identity, text, hash, statements, bytes) := {
	"now": now,
	"identity": identity,
	"request": {"project": "acme-analytics", "route": "jobs.query"},
	"sql": {"text": text, "hash": hash, "parsed": true, "statements": statements},
	"estimate": {
		"bytes": bytes,
		"source": "dry_run",
		"referenced_tables": sort({ref.id | some statement in statements; some ref in statement.tables}),
		"unparsed_tables": [],
	},
	"grants": [],
}

orders := "acme-analytics.sales.orders"

customers := "acme-analytics.crm.customers"

ledger := "acme-analytics.finance.ledger"

holidays := "acme-analytics.public.holidays"

employees := "acme-analytics.workforce.employees"

medical_leave := "acme-analytics.workforce.medical_leave"

# Policy tags as tables.get reports them on columns (mapped in data.org.policy_tags, but 5199).
tag(id) := concat("", ["projects/acme-analytics/locations/us/taxonomies/4011/policyTags/", id])

unmapped_tag := tag("5199")

tagged_ref(id, mode, tags) := object.union(ref(id, mode), {"policy_tags": tags})

employee_tags := {
	"full_name": [tag("5101")],
	"work_email": [tag("5102")],
	"national_id": [tag("5103")],
	"birth_date": [tag("5104")],
	"salary": [tag("5105")],
}

leave_tags := {"diagnosis": [unmapped_tag]}

mib := 1048576

gib := 1073741824

# Examples

# SELECT order_id, amount FROM `acme-analytics.sales.orders`
sales_select := request(
	agent,
	"SELECT order_id, amount FROM `acme-analytics.sales.orders`",
	"c36f86c26612acdc8b78afe7a3447414475064d427d3c6f6af255087b25eaaf1",
	[statement(0, "SELECT", "read", [ref(orders, "read")], [
		direct(0, "order_id", orders, "order_id"),
		direct(1, "amount", orders, "amount"),
	])],
	12 * mib,
)

# SELECT customer_id, ssn, email, address FROM `acme-analytics.crm.customers`
crm_select := request(
	agent,
	"SELECT customer_id, ssn, email, address FROM `acme-analytics.crm.customers`",
	"4335e7352af550e61f546d15ad9d17fefc3f19b9e4b38e1a49751fd2b58bdd24",
	[statement(0, "SELECT", "read", [ref(customers, "read")], [
		direct(0, "customer_id", customers, "customer_id"),
		direct(1, "ssn", customers, "ssn"),
		direct(2, "email", customers, "email"),
		direct(3, "address", customers, "address"),
	])],
	40 * mib,
)

# Transformed and nested values: a transformed SSN keeps no meaningful last four digits.
crm_transformed := request(
	agent,
	"SELECT CONCAT('', ssn) s, TO_JSON_STRING(address) a, address.street, address.city FROM crm.customers",
	"94f4c264fe223dfc217b4bd694a4a9b8c34377ac411d414c17f580b4ba21c57b",
	[statement(0, "SELECT", "read", [ref(customers, "read")], [
		derived(0, "s", [col(customers, "ssn")]),
		derived(1, "a", [col(customers, "address")]),
		direct(2, "street", customers, "address.street"),
		direct(3, "city", customers, "address.city"),
	])],
	40 * mib,
)

# Tagged columns no data lists: the policy tags on the refs are what makes them sensitive.
workforce_select := object.union(base, {"sql": object.union(base.sql, {"statements": [object.union(
	base.sql.statements[0],
	{"predicate_columns": [col(employees, "employee_id"), col(medical_leave, "employee_id")]},
)]})}) if {
	tables := [tagged_ref(employees, "read", employee_tags), tagged_ref(medical_leave, "read", leave_tags)]
	base := request(
		agent,
		concat(" ", [
			"SELECT e.full_name AS who, e.work_email, e.department, l.diagnosis",
			"FROM workforce.employees AS e JOIN workforce.medical_leave AS l USING (employee_id)",
		]),
		"f42d891c449c57adabf85e9296661290c7be83b48f4d1efdcc30806850399ae5",
		[statement(0, "SELECT", "read", tables, [
			direct(0, "who", employees, "full_name"),
			direct(1, "work_email", employees, "work_email"),
			direct(2, "department", employees, "department"),
			direct(3, "diagnosis", medical_leave, "diagnosis"),
		])],
		20 * mib,
	)
}

# SELECT account, SUM(amount) AS total FROM `acme-analytics.finance.ledger` GROUP BY account
finance_select := request(
	agent,
	"SELECT account, SUM(amount) AS total FROM `acme-analytics.finance.ledger` GROUP BY account",
	"2b27625357e55fd1012c2409ef8b46e5859dce50341eb9cc80517dec4a7b65dc",
	[statement(0, "SELECT", "read", [ref(ledger, "read")], [
		direct(0, "account", ledger, "account"),
		derived(1, "total", [col(ledger, "amount")]),
	])],
	200 * mib,
)

# SELECT day, name FROM `acme-analytics.public.holidays`; DELETE FROM `acme-analytics.sales.orders` WHERE units = 0
select_then_delete := object.union(base, {"sql": object.union(base.sql, {"statements": statements})}) if {
	base := request(
		engineer,
		"SELECT day, name FROM `acme-analytics.public.holidays`; DELETE FROM `acme-analytics.sales.orders` WHERE units = 0",
		"3bd61e4c6406ea25a2a037f35f173beebfd97215f7bc6ca030ff1709f232cdc8",
		[],
		3 * mib,
	)
	statements := [
		statement(0, "SELECT", "read", [ref(holidays, "read")], [
			direct(0, "day", holidays, "day"),
			direct(1, "name", holidays, "name"),
		]),
		object.union(statement(1, "DELETE", "write", [ref(orders, "write")], []), {"columns": [col(orders, "units")]}),
	]
}

# DROP TABLE `acme-analytics.sales.orders`
drop_table := request(
	engineer,
	"DROP TABLE `acme-analytics.sales.orders`",
	"e9989c9f8a16579063d90513557050d8be7b8e0d138f6a174c4c757c037d677f",
	[statement(0, "DROP_TABLE", "ddl", [ref(orders, "ddl")], [])],
	0,
)

# SELEC * FROM orders
unparsed := object.union(base, {"sql": object.union(base.sql, {"parsed": false})}) if {
	base := request(
		agent,
		"SELEC * FROM orders",
		"54bebe8227c1dcc2ad6427e57e96f31132d68eeaf779f0819633b805fd2f1c30",
		[{
			"index": 0,
			"type": "UNKNOWN",
			"category": "unknown",
			"parsed": false,
			"error": "Syntax error: Unexpected identifier \"SELEC\" at [1:1]",
			"tables": [],
			"columns": [],
			"predicate_columns": [],
			"functions": [],
			"outputs": [],
		}],
		0,
	)
}

# Variations

with_identity(request, identity) := object.union(request, {"identity": identity})

with_grants(request, grants) := object.union(request, {"grants": grants})

with_bytes(request, bytes) := object.union(request, {"estimate": {"bytes": bytes}})

grant(id, scope) := {"id": id, "subject": agent.subject, "scope": scope, "expires_at": now.unix + 600}

finance_grant := grant("g-finance", {"kind": "dataset", "datasets": ["acme-analytics.finance"]})

# SELECT * FROM `acme-analytics.crm.customers`, where the parser could not resolve a column.
crm_unknown_lineage := object.union(crm_select, {"sql": object.union(crm_select.sql, {"statements": [object.union(
	crm_select.sql.statements[0],
	{"outputs": [{
		"index": 0,
		"name": "blob",
		"sources": [],
		"lineage": "unknown",
		"direct": false,
		"reason": "function JS_UDF has no lineage model",
		"tables": [customers],
	}]},
)]})})

# SELECT * FROM `acme-analytics.sales.INFORMATION_SCHEMA.COLUMNS`
information_schema := request(
	agent,
	"SELECT * FROM `acme-analytics.sales.INFORMATION_SCHEMA.COLUMNS`",
	"61f53f3eae6ca3fe7a09a77357c2ccde2cf9ecbe11b3a831ce9384d5974a55ab",
	[statement(0, "SELECT", "read", [ref("acme-analytics.sales.information_schema.columns", "read")], [])],
	10 * mib,
)

# Everything the end-to-end check evaluates, by name.
examples := {
	"sales_select": sales_select,
	"crm_select": crm_select,
	"crm_select_pii_reader": with_identity(crm_select, pii_reader),
	"crm_transformed": crm_transformed,
	"crm_unknown_lineage": crm_unknown_lineage,
	"finance_select": finance_select,
	"finance_select_granted": with_grants(finance_select, [finance_grant]),
	"finance_select_expired_grant": with_grants(finance_select, [object.union(finance_grant, {"expires_at": now.unix})]),
	"sales_select_11gib": with_bytes(sales_select, 11 * gib),
	"sales_select_2tib": with_bytes(sales_select, 2048 * gib),
	"finance_select_11gib": with_bytes(finance_select, 11 * gib),
	"select_then_delete": select_then_delete,
	"select_then_delete_agent": with_identity(select_then_delete, agent),
	"drop_table": drop_table,
	"unparsed": unparsed,
	"information_schema": information_schema,
	"workforce_select": workforce_select,
	"workforce_select_pii_reader": with_identity(workforce_select, pii_reader),
}
