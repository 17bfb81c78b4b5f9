/**
 * Relay configuration: every knob with its default (README "Configuration reference").
 */
import { MAX_CIPHERTEXT } from "../protocol/envelope.js";

export interface RelayConfig {
  /** The relay's public URL, canonical (protocol/identity.ts checkRelayUrl). Bundles must name it. */
  url: string;
  /** Largest envelope accepted, in bytes. */
  maxEnvelopeBytes: number;
  /** Most messages returned by one inbox fetch. */
  maxInboxMessages: number;
  /**
   * Most envelope bytes in one inbox answer (the first message is always returned): one
   * small signed request must not make the relay build and hold a huge answer.
   */
  maxInboxBytes: number;
  /** Unread messages are deleted after this long. */
  messageTtlMs: number;
  /** Most messages one mailbox may hold. */
  mailboxQuota: number;
  /** Deposits and directory writes per client IP per window. */
  rateLimit: { windowMs: number; limit: number };
  /** Inbox fetches and directory lookups per client IP per window. */
  readRateLimit: { windowMs: number; limit: number };
  /** Take the client IP from X-Forwarded-For (only behind a trusted reverse proxy). */
  trustProxy: boolean;
  /** Who may read /metrics: loopback clients only (default), anyone, or nobody. */
  metrics: "loopback" | "public" | "off";
}

export const DEFAULTS: Omit<RelayConfig, "url"> = {
  maxEnvelopeBytes: MAX_CIPHERTEXT + 2048,
  maxInboxMessages: 100,
  maxInboxBytes: 4 * 1024 * 1024,
  messageTtlMs: 7 * 24 * 60 * 60 * 1000,
  mailboxQuota: 10_000,
  rateLimit: { windowMs: 60_000, limit: 600 },
  readRateLimit: { windowMs: 60_000, limit: 1200 },
  trustProxy: false,
  metrics: "loopback",
};
