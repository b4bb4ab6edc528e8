// The principal inventory: every identity the audit trail has seen, folded from its request
// records (projection.ts), read by the CLI (inventory.ts) and the JSON API (api.ts).
export { foldPrincipals, type Outcome } from './projection.ts';
export { listPrincipals, getPrincipal, PageTokenError, type PrincipalSummary, type PrincipalDetail, type PrincipalPage, type PrincipalStatus } from './inventory.ts';
