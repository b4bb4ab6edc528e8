// One caller, as every per-caller table keys it: its issuer and subject, a NUL between them (no
// issuer URL holds one), so two callers never share a key.
export function callerKey(identity: { readonly issuer: string; readonly subject: string }): string {
  return `${identity.issuer}\u0000${identity.subject}`;
}
