export type { BundleServerConfig } from './config.ts';
export { BundlePoller, type ActivationEvent, type BundleStatus } from './poller.ts';
export { signedAt, verifyBundle, SIGNATURES_FILE, SIGNING_ALGORITHMS, type VerificationConfig, type VerificationKey, type SigningAlgorithm } from './signature.ts';
export { BundleStore } from './store.ts';
export { BundleRefused, readTarball, type BundleFile } from './tarball.ts';
