// Reads the documents the commands take: inline JSON, or a JSON/YAML file.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Grant, Identity, TableSchemas } from '../engine/index.ts';
import { UsageError } from './output.ts';

export function readDocument(value: string, what: string): unknown {
  const inline = /^\s*[{[]/.test(value);
  let text = value;
  if (!inline) {
    try {
      text = readFileSync(value, 'utf8');
    } catch (thrown) {
      throw new UsageError(`cannot read ${what} file ${value}: ${(thrown as NodeJS.ErrnoException).code ?? String(thrown)}`);
    }
  }
  try {
    return inline || value.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (thrown) {
    throw new UsageError(`${what} ${inline ? 'argument' : `file ${value}`} is not valid ${inline || value.endsWith('.json') ? 'JSON' : 'YAML'}: ${(thrown as Error).message}`);
  }
}

/** An identity with only what matters written out: `{"subject": "bot", "groups": ["agents"]}`. */
export function toIdentity(doc: unknown, what = 'identity'): Identity {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`${what} must be an object`);
  const d = doc as Record<string, unknown>;
  const subject = d.subject ?? d.sub;
  if (typeof subject !== 'string' || !subject) throw new UsageError(`${what} needs a "subject" string`);
  const groups = d.groups ?? [];
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) throw new UsageError(`${what}.groups must be a list of strings`);
  const kind = d.kind ?? 'agent';
  if (kind !== 'agent' && kind !== 'human') throw new UsageError(`${what}.kind must be "agent" or "human"`);
  return {
    subject,
    issuer: typeof d.issuer === 'string' ? d.issuer : 'local',
    kind,
    groups: [...new Set(groups as string[])],
    claims: (d.claims as Identity['claims'] | undefined) ?? {},
  };
}

export function toGrants(doc: unknown): Grant[] {
  if (!Array.isArray(doc)) throw new UsageError('grants must be a list');
  return doc as Grant[];
}

export function toSchemas(doc: unknown): TableSchemas {
  if (!doc || typeof doc !== 'object') throw new UsageError('table schemas must be an object keyed by project.dataset.table');
  return doc as TableSchemas;
}

export function toDate(value: string, what = '--now'): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`${what} is not a date: ${value}`);
  return date;
}
