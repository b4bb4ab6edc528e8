# METADATA
# description: |
#   The tables the organisation knows, from data.org.projects. Anything not listed there
#   does not exist for the policy and is denied. Every lookup goes straight to
#   data.org.projects[project].datasets[dataset].tables[table]: the work per decision grows
#   with the request, never with the size of the catalog.
package sluice.catalog

# The configuration of a listed table by its project.dataset.table id; undefined when data
# does not list it. Names may hold dots, so every way of cutting the id into three names is
# looked up (one for a plain id).
table_config(id) := _config(parts[0], parts[1], parts[2]) if {
	parts := split(id, ".")
	count(parts) == 3
}

table_config(id) := config if {
	parts := split(id, ".")
	n := count(parts)
	n > 3
	some i in numbers.range(1, n - 2)
	some j in numbers.range(i + 1, n - 1)
	config := _config(
		concat(".", array.slice(parts, 0, i)),
		concat(".", array.slice(parts, i, j)),
		concat(".", array.slice(parts, j, n)),
	)
}

_config(project, dataset, table) := data.org.projects[project].datasets[dataset].tables[table]

# The dataset configuration of a ref to a known table; undefined for any other ref. The id
# must agree with its parts so that lookups by id (columns, lineage) and by parts (this) see
# the same table.
known_dataset(ref) := dataset if {
	project_name := ref.project
	dataset_name := ref.dataset
	table_name := ref.table
	dataset := data.org.projects[project_name].datasets[dataset_name]
	dataset.tables[table_name]
	ref.id == concat(".", [project_name, dataset_name, table_name])
}

# Every table a statement names, with its dataset's configuration (false when the policy does not
# know the table): each ref is looked up once per evaluation, and rules about known tables iterate
# this rather than look up again. An array, as iterating a set hashes its elements.
refs := [[statement, ref, _dataset_or_false(ref)] |
	some statement in input.sql.statements
	some ref in statement.tables
]

_dataset_or_false(ref) := dataset if {
	dataset := known_dataset(ref)
} else := false

# "known", or why a table reference is not.
status(ref) := "known" if {
	known_dataset(ref)
} else := "information_schema" if {
	some part in [ref.dataset, ref.table]
	contains(part, "information_schema")
} else := "unknown_project" if {
	not data.org.projects[ref.project]
} else := "unknown_dataset" if {
	not data.org.projects[ref.project].datasets[ref.dataset]
} else := "unknown_table"

_codes := {
	"information_schema": "information_schema_denied",
	"unknown_project": "unknown_project",
	"unknown_dataset": "unknown_dataset",
	"unknown_table": "unknown_table",
}

# Message text before and after the table id.
_messages := {
	"information_schema": ["INFORMATION_SCHEMA view ", " is not allowed"],
	"unknown_project": ["table ", " is in a project the policy does not know"],
	"unknown_dataset": ["table ", " is in a dataset the policy does not know"],
	"unknown_table": ["table ", " is not a known table"],
}

# `deny` is one rule with a body per check (each reason's `rule` names the check).

# deny_unknown
deny contains reason if {
	some [statement, ref, false] in refs
	state := status(ref)
	state != "known"
	message := _messages[state]
	reason := {
		"code": _codes[state],
		"message": concat("", [message[0], ref.id, message[1]]),
		"rule": "sluice.catalog.deny_unknown",
		"statement": statement.index,
	}
}

# deny_billing_project: the job runs and is billed in request.project, which must be a
# project the organisation lists.
deny contains reason if {
	not data.org.projects[input.request.project]
	reason := {
		"code": "unknown_billing_project",
		"message": sprintf("billing project %v is not known to the policy", [input.request.project]),
		"rule": "sluice.catalog.deny_billing_project",
	}
}

# deny_unlisted_lineage_table: tables named by the statement's lineage (its columns, output
# sources and unknown-lineage candidates) must also be among its table refs, or a sensitive
# column could hide behind a table the access checks never saw.
deny contains _unlisted(statement, table) if {
	some statement in input.sql.statements
	listed := [ref.id | some ref in statement.tables]
	some table in _lineage_tables(statement)
	not table in listed
}

# Arrays, repeats and all: a set would hash every id to drop them.
_lineage_tables(statement) := array.concat(
	array.concat(
		[column.table | some column in statement.columns],
		[source.table | some output in statement.outputs; some source in output.sources],
	),
	[table | some output in statement.outputs; some table in output.tables],
)

_unlisted(statement, table_id) := {
	"code": "lineage_table_unlisted",
	"message": concat("", [
		"statement ", format_int(statement.index, 10), " names columns of ", table_id,
		" but does not list that table",
	]),
	"rule": "sluice.catalog.deny_unlisted_lineage_table",
	"statement": statement.index,
}
