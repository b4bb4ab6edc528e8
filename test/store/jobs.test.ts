// Job records in the shared database: what lets any replica, or a restarted instance, serve the
// pages of a job another one ran, masked the same, and never to anyone but its owner.
import { describe, expect, it } from 'vitest';
import { DatabaseJobStore, type JobRecord } from '../../gateway/jobs.ts';
import { openDatabase } from '../../gateway/store/database.ts';
import { storageTargets } from '../support/databases.ts';

const record = (jobId: string, subject = 'agent', createdAt = Date.now()): JobRecord => ({
  project: 'acme-analytics',
  jobId,
  location: 'US',
  connection: 'acme',
  owner: { issuer: 'https://idp', subject },
  outcome: 'mask',
  masks: [{ statement: 0, output: 'ssn', strategy: 'last-4', source: { table: 'acme-analytics.crm.customers', column: 'ssn' } }],
  outputs: ['customer_id', 'ssn'],
  revision: 'r1',
  sqlHash: 'h',
  createdAt,
});

describe.each(storageTargets())('job records on $engine', ({ url }) => {
  it('are shared by replicas, never taken over, and forgotten after retention', async () => {
    const storage = await url();
    const one = await openDatabase(storage);
    const two = await openDatabase(storage);
    try {
      let now = Date.now();
      const replicaA = new DatabaseJobStore(one.db, { retentionSeconds: 60, now: () => now });
      const replicaB = new DatabaseJobStore(two.db, { retentionSeconds: 60, now: () => now });

      expect(await replicaA.register(record('job_1'))).toBe(true);
      expect(await replicaB.get('acme-analytics', 'job_1')).toEqual(record('job_1', 'agent', (await replicaA.get('acme-analytics', 'job_1'))!.createdAt));
      // The same id is the same job: no second owner, from either replica.
      expect(await replicaB.register(record('job_1', 'intruder'))).toBe(false);
      expect((await replicaA.get('acme-analytics', 'job_1'))?.owner.subject).toBe('agent');
      // Ids are per project.
      expect(await replicaB.get('other-project', 'job_1')).toBeUndefined();

      // Concurrent registrations of one id: exactly one wins.
      const race = await Promise.all([replicaA.register(record('job_2', 'a')), replicaB.register(record('job_2', 'b'))]);
      expect(race.filter(Boolean)).toHaveLength(1);

      // Past retention a record is gone, and its id may be registered again.
      now += 61_000;
      expect(await replicaA.get('acme-analytics', 'job_1')).toBeUndefined();
      expect(await replicaB.register(record('job_1', 'later', now))).toBe(true);
      expect((await replicaA.get('acme-analytics', 'job_1'))?.owner.subject).toBe('later');

      await replicaA.delete('acme-analytics', 'job_1');
      expect(await replicaB.get('acme-analytics', 'job_1')).toBeUndefined();
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});
