// What the official BigQuery client throws when the gateway refuses a call, for assertions.
import { expect } from 'vitest';

export interface Refusal {
  code: number;
  message: string;
  errors: { reason: string }[];
  response?: { body?: any };
}

/** The error the promise rejects with; fails the test if it resolves. */
export async function refusal(promise: Promise<unknown>): Promise<Refusal> {
  try {
    await promise;
  } catch (error) {
    return error as Refusal;
  }
  throw new Error('expected a refusal');
}

/** The approval request id of an approvalRequired refusal. */
export function approvalIdOf(err: Refusal): string {
  expect(err.code).toBe(403);
  expect(err.errors[0]!.reason).toBe('approvalRequired');
  const id = err.response?.body?.error?.details?.[0]?.metadata?.approval_request_id;
  expect(typeof id).toBe('string');
  return id as string;
}
