# METADATA
# description: |
#   The tables the organisation knows, from data.org.projects. Anything not listed there
#   does not exist for the policy and is denied.
package sluice.catalog

# Every listed table by its project.dataset.table id.
tables[id] := {"id": id, "dataset": dataset_id, "dataset_config": dataset, "config": config} if {
	some project_name, project in data.org.projects
	some dataset_name, dataset in project.datasets
	some table_name, config in dataset.tables
	dataset_id := concat(".", [project_name, dataset_name])
	id := concat(".", [dataset_id, table_name])
}

# "known", or why each table reference of the input is not.
ref_status[ref] := _status(ref, data.org.projects) if {
	some statement in input.sql.statements
	some ref in statement.tables
}

# The id must agree with its parts so that lookups by id (columns, lineage) and by parts
# (this) see the same table.
_status(ref, projects) := "known" if {
	projects[ref.project].datasets[ref.dataset].tables[ref.table]
	ref.id == concat(".", [ref.project, ref.dataset, ref.table])
} else := "information_schema" if {
	some part in [ref.dataset, ref.table]
	contains(part, "information_schema")
} else := "unknown_project" if {
	not projects[ref.project]
} else := "unknown_dataset" if {
	not projects[ref.project].datasets[ref.dataset]
} else := "unknown_table"

_codes := {
	"information_schema": "information_schema_denied",
	"unknown_project": "unknown_project",
	"unknown_dataset": "unknown_dataset",
	"unknown_table": "unknown_table",
}

_messages := {
	"information_schema": "INFORMATION_SCHEMA view %s is not allowed",
	"unknown_project": "table %s is in a project the policy does not know",
	"unknown_dataset": "table %s is in a dataset the policy does not know",
	"unknown_table": "table %s is not a known table",
}

deny_unknown contains reason if {
	some statement in input.sql.statements
	some ref in statement.tables
	state := ref_status[ref]
	state != "known"
	reason := {
		"code": _codes[state],
		"message": sprintf(_messages[state], [ref.id]),
		"rule": "sluice.catalog.deny_unknown",
		"statement": statement.index,
	}
}

# The job runs and is billed in request.project: only projects the organisation lists.
deny_billing_project contains reason if {
	not data.org.projects[input.request.project]
	reason := {
		"code": "unknown_billing_project",
		"message": sprintf("billing project %v is not known to the policy", [input.request.project]),
		"rule": "sluice.catalog.deny_billing_project",
	}
}

# Tables named by the statement's lineage; each must also be one of its table refs, or a
# sensitive column could hide behind a table the access checks never saw.
lineage_tables(statement) := (column_tables | source_tables) | candidate_tables if {
	column_tables := {column.table | some column in statement.columns}
	source_tables := {source.table | some output in statement.outputs; some source in output.sources}
	candidate_tables := {table | some output in statement.outputs; some table in output.tables}
}

deny_unlisted_lineage_table contains reason if {
	some statement in input.sql.statements
	listed := {ref.id | some ref in statement.tables}
	some table in lineage_tables(statement)
	not table in listed
	reason := {
		"code": "lineage_table_unlisted",
		"message": sprintf("statement %d names columns of %s but does not list that table", [statement.index, table]),
		"rule": "sluice.catalog.deny_unlisted_lineage_table",
		"statement": statement.index,
	}
}

deny := union({deny_unknown, deny_billing_project, deny_unlisted_lineage_table})
