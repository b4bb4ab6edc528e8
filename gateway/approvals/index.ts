// Just-in-time approvals: the library the gateway pipeline calls, and the fastify plugin serving
// the approvals API and the approver page.
export { ApprovalStore, createApprovalStore, COMMENT_MAX_LENGTH } from './store.ts';
export type { ApprovalStoreOptions, GrantPage, ListGrantsOptions, ListRequestsOptions, RequestPage, WaitOptions } from './store.ts';
export { ApprovalError, type ApprovalErrorCode } from './errors.ts';
export { oneTimeGrantsUsed } from './grant-usage.ts';
export { approvalRequestsOf, grantSourceOf } from './adapters.ts';
export { previewWithGrant, type Preview } from './preview.ts';
export { approvalsPlugin, type ApprovalsPluginOptions, type ApproverPageOptions, type PreviewEngine } from './plugin.ts';
export { ApprovalsClient, ApprovalsClientError, type GrantListing, type ListQuery, type RequestListing } from './client.ts';
export type * from './types.ts';
