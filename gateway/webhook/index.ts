// Outgoing notifications of approval requests and decisions. Wiring:
//   const webhook = createWebhook({ url, secret, onEvent: audit });
//   approvals.subscribe(webhook.listener);
export { createWebhook, WebhookDispatcher, type WebhookEvent, type WebhookOptions } from './dispatcher.ts';
export { messageFor, escapeMrkdwn, formatBytes, describeScope, NOTIFIED_ACTIONS, type SlackMessage } from './payload.ts';
export { signatureFor, verifySignature, SIGNATURE_HEADER, type VerifyOptions } from './signature.ts';
