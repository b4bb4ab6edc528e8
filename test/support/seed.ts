// What the emulator is seeded with (demo/seed/acme.yaml), for tests that look for raw values
// where none may be.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const SEED = fileURLToPath(new URL('../../demo/seed/acme.yaml', import.meta.url));
const PII_COLUMNS = ['name', 'ssn', 'email', 'phone', 'card_number'];

/** Every PII value of crm.customers as seeded (name, ssn, email, phone, card, street). */
export async function seededPii(): Promise<string[]> {
  const seed: unknown = parse(await readFile(SEED, 'utf8'));
  const out: string[] = [];
  const visit = (node: unknown, path: string[]): void => {
    if (Array.isArray(node)) return node.forEach((n) => visit(n, path));
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    const here = typeof o.id === 'string' ? [...path, o.id] : path;
    if (here.slice(-2).join('.') === 'crm.customers' && Array.isArray(o.data)) {
      for (const row of o.data as Record<string, unknown>[]) {
        for (const c of PII_COLUMNS) if (typeof row[c] === 'string') out.push(row[c] as string);
        const street = (row.address as { street?: unknown } | undefined)?.street;
        if (typeof street === 'string') out.push(street);
      }
      return;
    }
    for (const v of Object.values(o)) visit(v, here);
  };
  visit(seed, []);
  return out;
}
