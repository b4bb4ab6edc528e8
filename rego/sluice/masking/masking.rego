# METADATA
# description: |
#   Sensitive columns reach the caller only masked. A column is sensitive when the data lists
#   it (data.org...tables.*.sensitive_columns; unmasked for the table's unmasked_groups) or
#   when BigQuery tags it with a policy tag (input table refs' policy_tags), which
#   data.org.policy_tags maps to a strategy (unmasked for the tag's raw_readers); a tag that
#   maps to nothing masks with the strictest strategy. Where the lineage cannot say which
#   columns flow into an output, or a statement would copy sensitive values elsewhere, the
#   request is denied instead.
package sluice.masking

import data.sluice.catalog
import data.sluice.identity

# The strategy of a column whose policy tag maps to no rule, and the one that wins whenever
# it is among several: nothing of the value, not even whether it was null, is returned.
_strictest := "ALWAYS_NULL"

# Strategies that withhold more than redaction does: a transformed value or a disagreement
# keeps them rather than falling back to redact.
_beyond_redact := ["ALWAYS_NULL", "null"]

# Whether the caller sees some column of the table masked, listed or tagged.
_sensitive_table(table_id) if {
	count(_listed_masked(table_id)) > 0
} else if {
	_tagged_masked(table_id)
}

# The table's listed sensitive columns the caller sees masked (column -> strategy); {} when
# none, undefined for a table the data does not list. Tables the request reads are looked up
# once each (by the ref's parts); other ids (an unlisted lineage table) by their id.
_listed_masked(table_id) := columns if {
	columns := _read_tables[table_id]
} else := _masked_or_none(catalog.table_config(table_id))

# _masked of every known table a statement reads, by id ({} when nothing is masked).
_read_tables[ref.id] := _masked_or_none(config) if {
	some [_, ref, dataset] in catalog.refs
	config := dataset.tables[ref.table]
}

_masked(config) := _strategies(listed) if {
	listed := object.get(config, "sensitive_columns", {})
	count(listed) > 0
	not identity.member_of(object.get(config, "unmasked_groups", []))
}

# Column -> strategy. A column listed without one (a list of names, one name alone, or a name
# with nothing after it) is masked at the strictest. Column names are compared as BigQuery compares them,
# whatever their case (the statement's are lower-cased), so `SSN` lists the column `ssn`; names
# listed in several spellings with different strategies are masked at the strictest.
# (The first body is the usual case, lower-case names with a strategy each: the listing as it is.)
_strategies(listed) := listed if {
	is_object(listed)
	every name, strategy in listed {
		is_string(strategy)
		name == lower(name)
	}
} else := {column: _agreed(strategies) |
	some name, _ in listed
	column := lower(name)
	strategies := {_strategy_or_strictest(strategy) | some other, strategy in listed; lower(other) == column}
} if {
	is_object(listed)
} else := {lower(listed): _strictest} if {
	is_string(listed)
} else := _list_strategies([entry | some item in listed; some entry in _item_entries(item)])

# A list may mix names and name: strategy entries; none is skipped for the shape it is written in.
_list_strategies(entries) := {column: _agreed(strategies) |
	some [name, _] in entries
	column := lower(name)
	strategies := {_strategy_or_strictest(strategy) | some [other, strategy] in entries; lower(other) == column}
}

# [name, strategy or null] for each column a list item names.
_item_entries(item) := [[item, null]] if {
	is_string(item)
} else := [[name, strategy] | some name, strategy in item] if {
	is_object(item)
} else := []

_agreed(strategies) := strategy if {
	count(strategies) == 1
	some strategy in strategies
} else := _strictest

_strategy_or_strictest(strategy) := strategy if is_string(strategy)

else := _strictest

_masked_or_none(config) := columns if {
	columns := _masked(config)
} else := {}

# The table's tagged columns the caller sees masked (column -> set of [strategy, why], one
# per tag) when it has some; undefined otherwise. Only refs carry tags, from the schemas the
# request was normalized with: every ref of one id carries the same ones.
_tagged_masked(table_id) := columns if {
	columns := _read_tags[table_id]
	count(columns) > 0
}

_read_tags[ref.id] := {column: rules |
	some column, tags in ref.policy_tags
	rules := {rule | some tag in tags; rule := _tag_rule(tag)}
	count(rules) > 0
} if {
	some statement in input.sql.statements
	some ref in statement.tables
	ref.policy_tags
}

# A mapped tag masks with its strategy (the strictest when it names none), unless the caller
# is among its raw_readers. A tag listed with nothing under it (null) names neither.
_tag_rule(tag) := [object.get(config, "strategy", _strictest), concat("", ["has policy tag ", tag])] if {
	config := _tag_config(data.org.policy_tags[tag])
	not identity.member_of(object.get(config, "raw_readers", []))
}

# Fail closed: a tag the data does not map is sensitive for everyone, at the strictest.
_tag_rule(tag) := [
	_strictest,
	concat("", ["has policy tag ", tag, ", which maps to no rule (strictest strategy)"]),
] if {
	not data.org.policy_tags[tag]
}

_tag_config(config) := config if is_object(config)

else := {}

# How a referenced column meets the sensitive ones: it is one (or a field inside one), or it
# is a RECORD holding sensitive fields, which then have a path below it.
_matches(table_id, column) := {match |
	some key, strategy in _listed_masked(table_id)
	match := _match(column, key, strategy, "is sensitive")
} | {match |
	some key, rules in _tagged_masked(table_id)
	some [strategy, why] in rules
	match := _match(column, key, strategy, why)
}

_match(column, key, strategy, why) := {"key": key, "strategy": strategy, "why": why, "path": []} if {
	_within(column, key)
} else := {"key": key, "strategy": strategy, "why": why, "path": split(substring(key, count(column) + 1, -1), ".")} if {
	_within(key, column)
}

# The path itself, or a field inside: the ancestor and a dot start the path (tested without
# building that prefix, as most columns start with no sensitive key).
_within(path, ancestor) if {
	path == ancestor
} else if {
	startswith(path, ancestor)
	substring(path, count(ancestor), 1) == "."
}

# Masks go on columns passed through unchanged (`direct`); a value computed from a sensitive
# column is denied instead (deny_sensitive_computation).
# Grouped by (statement, output, path) as they are made: gathering each group by a scan of all
# candidates would cost the square of their number in WASM (a wide `SELECT ssn AS a, ssn AS b,
# …` held the gateway for seconds).
_candidates[key] contains candidate if {
	some statement in input.sql.statements
	some output in statement.outputs
	output.direct == true
	some source in output.sources
	some match in _matches(source.table, source.column)
	key := [statement.index, output.name, match.path]
	candidate := {
		"strategy": match.strategy,
		"source": {"table": source.table, "column": match.key},
		"why": match.why,
	}
}

# One mask per (statement, output, path), with the candidate that explains it (one whose
# strategy it is, first by source). Sources disagreeing on the strategy (a UNION of two
# sensitive columns, a column both listed and tagged) get the strictest: redact, or one
# beyond it.
_explained contains {"mask": mask, "why": cited[2]} if {
	some key, group in _candidates
	strategy := _strategy({candidate.strategy | some candidate in group})
	cited := sort([[candidate.strategy != strategy, candidate.source, candidate.why] | some candidate in group])[0]
	mask := object.union(
		{
			"statement": key[0],
			"output": key[1],
			"strategy": strategy,
			"source": cited[1],
		},
		_path(key[2]),
	)
}

masks contains explained.mask if some explained in _explained

_strategy(strategies) := strategy if {
	count(strategies) == 1
	some strategy in strategies
} else := stricter[0] if {
	stricter := [strategy | some strategy in _beyond_redact; strategy in strategies]
	count(stricter) > 0
} else := "redact"

_path(path) := {"path": path} if count(path) > 0

else := {}

mask_reasons contains reason if {
	some explained in _explained
	mask := explained.mask
	reason := {
		"code": "pii_masked",
		"message": concat("", [
			"statement ", format_int(mask.statement, 10),
			" output ", concat(".", array.concat([mask.output], object.get(mask, "path", []))),
			" is masked (", mask.strategy, "): ", mask.source.table, ".", mask.source.column, " ", explained.why,
		]),
		"rule": "sluice.masking.mask_reasons",
		"statement": mask.statement,
	}
}

# `deny` is one rule with a body per check (each reason's `rule` names the check).

# deny_unknown_lineage: unknown lineage means any column of the candidate tables (all the
# statement's tables when none are named) may flow into the output, so no mask can be placed
# with confidence.
deny contains reason if {
	some statement in input.sql.statements
	some output in statement.outputs
	not output.lineage == "known"
	some table_id in _candidate_tables(statement, output)
	_sensitive_table(table_id)
	reason := {
		"code": "lineage_unknown_sensitive",
		"message": concat("", [
			"statement ", format_int(statement.index, 10), " output ", output.name,
			" has unknown lineage (", object.get(output, "reason", "no reason given"),
			") and may carry sensitive columns of ", table_id,
		]),
		"rule": "sluice.masking.deny_unknown_lineage",
		"statement": statement.index,
	}
}

# deny_sensitive_write: masks apply to rows returned to the caller; a statement that writes,
# exports or defines something would move sensitive values past them.
# deny_policy_tags_unknown: a dataset whose sensitive columns are known only by their BigQuery
# policy tags (`tagged: true`) is read through a table whose schema, and so its tags, the
# gateway could not see (a wildcard table, a metadata read refused): nothing says which of its
# columns to mask, so the read is refused rather than answered raw.
deny contains reason if {
	some statement in input.sql.statements
	some ref in statement.tables
	data.org.projects[ref.project].datasets[ref.dataset].tagged == true
	not ref.policy_tags
	reason := {
		"code": "policy_tags_unknown",
		"message": concat("", [
			"statement ", format_int(statement.index, 10), " reads ", ref.id,
			", whose columns are protected by BigQuery policy tags, but its schema (and so its tags) is unknown",
		]),
		"rule": "sluice.masking.deny_policy_tags_unknown",
		"statement": statement.index,
	}
}

deny contains reason if {
	some statement in input.sql.statements
	statement.category != "read"
	sources := [source | some output in statement.outputs; some source in output.sources]
	some column in array.concat(statement.columns, sources)
	some match in _matches(column.table, column.column)
	reason := {
		"code": "sensitive_write_denied",
		"message": concat("", [
			"statement ", format_int(statement.index, 10), " is ", statement.category,
			" and uses sensitive column ", column.table, ".", match.key,
		]),
		"rule": "sluice.masking.deny_sensitive_write",
		"statement": statement.index,
	}
}

# deny_scanned_write: the content scan reads answers, not what a statement writes. Values read
# from a table whose answers are scanned (free text the lineage cannot see) and written to one
# whose answers are not would reach every later reader of that table unscanned, the writer
# included, so a caller the scan applies to may not write them there.
deny contains reason if {
	_scan_config
	some [statement, source, source_dataset] in catalog.refs
	statement.category != "read"
	source.mode == "read"
	_scanned(source, source_dataset)
	some [target_statement, target, target_dataset] in catalog.refs
	target_statement.index == statement.index
	target.mode != "read"
	not _scanned(target, target_dataset)
	reason := {
		"code": "scanned_write_denied",
		"message": concat("", [
			"statement ", format_int(statement.index, 10), " is ", statement.category, " and copies values of ",
			source.id, ", whose answers are scanned for sensitive values, into ", target.id, ", whose answers are not",
		]),
		"rule": "sluice.masking.deny_scanned_write",
		"statement": statement.index,
	}
}

# deny_sensitive_computation: masks act on returned values, and a value computed from a column
# the caller sees masked can answer a guess about it whatever mask it gets: by what it shows,
# by whether it is NULL (SAFE_DIVIDE(1, digit - 1) is NULL exactly when the digit is 1), or by
# whether the query fails (1 / (digit - 5) divides by zero exactly when it is 5; an INT64 SUM
# overflows above a bound the caller picks). Such a column is returned only as itself, masked.
deny contains reason if {
	some statement in input.sql.statements
	some output in statement.outputs
	output.direct != true
	some source in output.sources
	some match in _matches(source.table, source.column)
	reason := {
		"code": "sensitive_computation",
		"message": concat("", [
			"statement ", format_int(statement.index, 10), " output ", output.name, " is computed from ",
			source.table, ".", match.key, ", which the caller may see only masked: select the column itself",
			" (it is returned masked) or leave it out",
		]),
		"rule": "sluice.masking.deny_sensitive_computation",
		"statement": statement.index,
	}
}

# deny_sensitive_predicate: masks act on returned values only. A sensitive column that chooses
# or orders the rows (WHERE ssn = '…', JOIN … USING (email), ORDER BY card_number) shapes
# the result unmasked: which rows match confirms a guessed value. A `*` column stands for
# a clause whose lineage could not be traced in a table with masked columns.
deny contains reason if {
	some statement in input.sql.statements
	some column in statement.predicate_columns
	some key in _predicate_keys(column)
	reason := {
		"code": "sensitive_predicate",
		"message": concat("", [
			"statement ", format_int(statement.index, 10), " filters, joins or orders on ",
			column.table, ".", key, ", which the caller may see only masked",
		]),
		"rule": "sluice.masking.deny_sensitive_predicate",
		"statement": statement.index,
	}
}

_predicate_keys(column) := {match.key | some match in _matches(column.table, column.column)} if column.column != "*"

_predicate_keys(column) := {"*"} if {
	column.column == "*"
	_sensitive_table(column.table)
}

# The tables an output of unknown lineage names; every table of the statement when it names
# none (no `tables`, or an empty list, which would otherwise leave nothing to check).
_candidate_tables(statement, output) := output.tables if {
	count(output.tables) > 0
} else := [ref.id | some ref in statement.tables]

# Backstop: values the lineage does not flag (free text, JSON, a value in a column of another
# type) are scanned for the configured detectors. Every answer is scanned when the request reads
# a configured dataset, one that holds sensitive columns or a table with policy-tagged columns;
# for any other request of a non-exempt caller, an answer with columns the query did not ask
# for is (an upstream answering with extra columns is answering something else).
content_scan := {"detectors": _scan_config.detectors, "strategy": _scan_config.strategy, "scope": _scan_scope}

default _scan_scope := "unexpected_answers"

_scan_scope := "all" if _reads_scanned_dataset

_scan_config := {"detectors": config.detectors, "strategy": config.strategy} if {
	config := data.org.content_scan
	not identity.member_of(object.get(config, "exempt_groups", []))
}

_reads_scanned_dataset if {
	some [_, ref, dataset] in catalog.refs
	_scanned(ref, dataset)
}

# Whether answers reading the table are scanned whole: it is in a configured dataset, one that
# holds sensitive columns (dataset: its configuration, false when unknown), or it has
# policy-tagged columns. The one check whose work grows with the data: a read of a dataset that
# holds no sensitive column looks at each of its tables (0.9 k instructions a table).
_scanned(ref, dataset) if {
	concat(".", [ref.project, ref.dataset]) in object.get(data.org.content_scan, "datasets", [])
} else if {
	some table in dataset.tables
	count(table.sensitive_columns) > 0
} else if {
	count(object.get(ref, "policy_tags", {})) > 0
}
