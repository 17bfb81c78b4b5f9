/**
 * The relay protocol (docs/protocol.md §13): what a relay signs, how requests are
 * authenticated, and the JSON shapes of the HTTP API under /v1. Shared by the relay and
 * its clients, so both sides encode the signed bytes with the same code.
 *
 * Signatures (§13.2):
 * - receipt (Ed25519, context "receipt"): the relay stored a batch of messages; each
 *   message's receipt carries the batch's signature and its audit path (receipt.ts);
 * - directory entry (hybrid, context "directory"): the relay publishes a bundle;
 * - checkpoint (hybrid, context "checkpoint"): the relay's Merkle log had this root at
 *   this size. Receipts and entries are the log's leaves, so an inclusion proof ties
 *   each of them to a hybrid-signed checkpoint.
 * - request (Ed25519 half of the user's identity key, context "request").
 */
import { z } from "zod";
import { base64url, utf8, Writer } from "./bytes.js";
import { fail } from "./errors.js";
import { NAME_PATTERN } from "./identity.js";
import { sha256 } from "./kdf.js";

export const RELAY_API_VERSION = 1;

export const LEAF_MESSAGE = 0x01;
export const LEAF_DIRECTORY = 0x02;
export const MESSAGE_ID_LENGTH = 16;
export const NONCE_LENGTH = 16;
/** Receipts (receipt.ts): most in one signed batch (u16), and so the longest audit path. */
export const MAX_RECEIPT_BATCH = 0xffff;
export const MAX_RECEIPT_PATH = 16;
/** Longest receipt: sizes, signature, path. */
export const MAX_RECEIPT_LENGTH = 4 + 64 + 32 * MAX_RECEIPT_PATH;
/** Requests more than this far from the relay's clock are refused (§13.3). */
export const MAX_REQUEST_SKEW_MS = 5 * 60 * 1000;

export const Context = {
  receipt: "receipt",
  directory: "directory",
  checkpoint: "checkpoint",
  request: "request",
} as const;

// --- signed bytes -------------------------------------------------------------------

export interface ReceiptFields {
  /** Message id: SHA-256(label || envelope)[0:16] (§6.4). */
  id: Uint8Array;
  to: string;
  envelopeHash: Uint8Array;
  at: number;
}

/** The receipt body, which is also the message's leaf in the log. */
export function receiptBody(r: ReceiptFields): Uint8Array {
  return new Writer()
    .u8(LEAF_MESSAGE)
    .raw(r.id, MESSAGE_ID_LENGTH)
    .bytes16(utf8(r.to))
    .raw(r.envelopeHash, 32)
    .u64(r.at)
    .finish();
}

export interface EntryFields {
  name: string;
  bundleHash: Uint8Array;
  at: number;
}

/** The directory entry body, which is also the entry's leaf in the log. */
export function entryBody(e: EntryFields): Uint8Array {
  return new Writer()
    .u8(LEAF_DIRECTORY)
    .bytes16(utf8(e.name))
    .raw(e.bundleHash, 32)
    .u64(e.at)
    .finish();
}

export interface CheckpointFields {
  size: number;
  root: Uint8Array;
  at: number;
}

export function checkpointBody(c: CheckpointFields): Uint8Array {
  return new Writer().u64(c.size).raw(c.root, 32).u64(c.at).finish();
}

export interface RequestFields {
  method: string;
  /** Path and query exactly as sent, e.g. `/v1/inbox?limit=10`. */
  path: string;
  name: string;
  time: number;
  nonce: Uint8Array;
  body: Uint8Array;
  /** The relay's Ed25519 key: a request signed for one relay is useless at another. */
  relayKey: Uint8Array;
}

export function requestBody(r: RequestFields): Uint8Array {
  return new Writer()
    .bytes16(utf8(r.method.toUpperCase()))
    .bytes16(utf8(r.path))
    .bytes16(utf8(r.name))
    .u64(r.time)
    .raw(r.nonce, NONCE_LENGTH)
    .raw(sha256(r.body), 32)
    .raw(r.relayKey, 32)
    .finish();
}

export const Header = {
  user: "x-secure-msg-user",
  time: "x-secure-msg-time",
  nonce: "x-secure-msg-nonce",
  signature: "x-secure-msg-signature",
} as const;

// --- addresses ----------------------------------------------------------------------

export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** The relay URL for a host: http on loopback, https everywhere else (§13.1). */
export function relayUrlForHost(host: string): string {
  return new URL(`${isLoopback(new URL(`http://${host}`).hostname) ? "http" : "https"}://${host}`)
    .origin;
}

/**
 * `name@host[:port]` → name and host; a bare `name` has no host. The host is returned as
 * a relay URL of its scheme would name it (lowercase, the scheme's default port dropped),
 * so it compares equal to the host of a bundle's relay URL.
 */
export function parseAddress(address: string): { name: string; host?: string } {
  const bad = () => fail("INVALID_ARGUMENT", `not an address: ${JSON.stringify(address)}`);
  const at = address.indexOf("@");
  const name = at < 0 ? address : address.slice(0, at);
  if (!NAME_PATTERN.test(name)) bad();
  if (at < 0) return { name };
  const host = address.slice(at + 1);
  if (!/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(host)) bad();
  let url: URL;
  try {
    url = new URL(relayUrlForHost(host));
  } catch (e) {
    return fail("INVALID_ARGUMENT", `not an address: ${JSON.stringify(address)}`, e);
  }
  return { name, host: url.host };
}

// --- JSON shapes (§13.4) --------------------------------------------------------------

const b64 = z.string().regex(/^[A-Za-z0-9_-]*$/, "base64url");
const b64n = (n: number) =>
  b64.refine((s) => s.length === Math.ceil((n * 4) / 3), `base64url of ${n} bytes`);
const b64max = (n: number) => b64.max(Math.ceil((n * 4) / 3), `base64url of at most ${n} bytes`);
const time = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const name = z.string().regex(NAME_PATTERN);

export const ErrorResponse = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});

export const InfoResponse = z.object({
  version: z.literal(RELAY_API_VERSION),
  software: z.string(),
  url: z.string(),
  keys: z.object({ hybrid: b64, ed25519: b64n(32) }),
  fingerprint: z.string(),
  limits: z.object({
    maxEnvelopeBytes: z.number().int().positive(),
    maxInboxMessages: z.number().int().positive(),
    messageTtlSeconds: z.number().int().positive(),
  }),
});

export const RegisterRequest = z.object({ bundle: b64 });

export const Checkpoint = z.object({ size: time, root: b64n(32), at: time, signature: b64 });

export const DirectoryEntry = z.object({
  name,
  bundle: b64,
  at: time,
  index: time,
  signature: b64,
});

/** A directory lookup: the entry, and its inclusion in a checkpoint covering it. */
export const DirectoryResponse = DirectoryEntry.extend({
  checkpoint: Checkpoint,
  proof: z.array(b64n(32)).max(64),
});

export const DepositRequest = z.object({ to: name, envelope: b64 });

export const DepositResponse = z.object({
  id: b64n(MESSAGE_ID_LENGTH),
  at: time,
  receipt: b64max(MAX_RECEIPT_LENGTH),
  duplicate: z.boolean(),
});

export const InboxMessage = z.object({
  id: b64n(MESSAGE_ID_LENGTH),
  at: time,
  index: time,
  envelope: b64,
  receipt: b64max(MAX_RECEIPT_LENGTH),
  proof: z.array(b64n(32)).max(64),
});

export const InboxResponse = z.object({
  messages: z.array(InboxMessage).max(1000),
  checkpoint: Checkpoint.nullable(),
  /** Consistency proof from the checkpoint size the client sent as `since`. */
  consistency: z.array(b64n(32)).max(128).nullable(),
});

export const AckRequest = z.object({ ids: z.array(b64n(MESSAGE_ID_LENGTH)).min(1).max(1000) });
export const AckResponse = z.object({ deleted: z.number().int().nonnegative() });

export type InfoResponse = z.infer<typeof InfoResponse>;
export type Checkpoint = z.infer<typeof Checkpoint>;
export type DirectoryEntry = z.infer<typeof DirectoryEntry>;
export type DirectoryResponse = z.infer<typeof DirectoryResponse>;
export type DepositResponse = z.infer<typeof DepositResponse>;
export type InboxMessage = z.infer<typeof InboxMessage>;
export type InboxResponse = z.infer<typeof InboxResponse>;

export const b64u = base64url;
