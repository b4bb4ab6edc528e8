// Telling store errors apart where the audit log must react differently.

/** A duplicate (stream, seq) or id: another writer appended to the stream first. */
export function isUniqueViolation(thrown: unknown): boolean {
  const code = (thrown as { code?: unknown } | null)?.code;
  // PostgreSQL SQLSTATE unique_violation; better-sqlite3's extended result codes.
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * The connection the statement went out on was already dead (the server restarted or failed over
 * while it sat in the pool): worth one more try on a fresh connection. Whether the statement was
 * committed is unknown, so the retry first looks for the records it carried.
 */
export function isConnectionLost(thrown: unknown): boolean {
  const e = thrown as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === '57P01' || code === '57P02' || code.startsWith('08')) return true;
  return typeof e?.message === 'string' && /^Connection terminated/.test(e.message);
}
