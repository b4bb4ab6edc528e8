// The resolved `bundle:` section when the gateway polls a bundle server.
import type { VerificationConfig } from './signature.ts';

export interface BundleServerConfig {
  url: string;
  minDelayMs: number;
  maxDelayMs: number;
  bearerToken: string | undefined;
  persistDir: string;
  maxSizeBytes: number;
  timeoutMs: number;
  verification: VerificationConfig | undefined;
}
