import { describe, expect, it } from 'vitest';
import { openDatabase, redact } from '../../gateway/store/database.ts';
import { storageTargets } from '../support/databases.ts';

describe.each(storageTargets())('database on $engine', ({ engine, url }) => {
  it('migrates an empty database and reopens it idempotently', async () => {
    const target = await url();
    const first = await openDatabase(target);
    expect(first.dialect).toBe(engine);
    await first.db
      .insertInto('grants')
      .values({ id: 'g1', subject: 's', issuer: 'i', scope: '{}', one_time: 0, approval_id: null, created_at_ms: 1, expires_at_ms: 1_800_000_000_000, revoked_at_ms: null, revoked_by: null, consumed_at_ms: null, consumed_by: null })
      .execute();
    await first.close();

    const again = await openDatabase(target);
    const row = await again.db.selectFrom('grants').selectAll().where('id', '=', 'g1').executeTakeFirstOrThrow();
    expect(row.expires_at_ms).toBe(1_800_000_000_000);
    await again.close();
  });
});

describe('storage URLs', () => {
  it('refuses an unknown scheme and never echoes a password', async () => {
    await expect(openDatabase('mysql://u:secret@h/db')).rejects.toThrow(/unsupported storage URL mysql:\/\/u:\*\*\*@h\/db/);
    expect(redact('postgres://app:hunter2@db:5432/x')).toBe('postgres://app:***@db:5432/x');
  });
});
