/// <reference types="chrome" />
/**
 * The contract between the extension's pages (popup, frames), the content script and the
 * background worker: every request, the result each one answers with, and `sendRequest`
 * for callers. The worker is the only place keys and `protocol/` live (DESIGN §5); the
 * content script may only make the requests `extension/background/trust.ts` allows, and
 * none of those answers with plaintext or keys.
 */
import type { Contact } from "../../protocol/contacts.js";
import type { MessageRecord } from "../../protocol/records.js";
import { ExtensionError, fromWire, type WireError } from "./errors.js";

export type Request =
  | { type: "state" }
  | { type: "createAccount"; relay: string; name: string; password: string }
  | { type: "unlock"; password: string }
  | { type: "lock" }
  | { type: "contacts" }
  /** Exactly one of `address` (looked up at its relay) or `bundle` (armored, offline). */
  | { type: "addContact"; address?: string; bundle?: string; acceptChangedIdentity?: boolean }
  | { type: "verifyContact"; address: string; verified?: boolean }
  | { type: "contact"; address: string }
  | { type: "send"; to: string; text: string }
  | { type: "fetch" }
  | { type: "conversations" }
  | { type: "thread"; peer: string }
  | { type: "changePassword"; oldPassword: string; newPassword: string }
  | { type: "settings" }
  | { type: "setSettings"; autoLockMinutes?: number; relay?: string }
  | { type: "encryptFor"; to: string; text: string; compact: boolean }
  | { type: "decryptArmor"; armor: string }
  | { type: "exportBundle" }
  // Page actions (extension/background/insertions.ts, sites.ts): from extension pages only.
  | { type: "insertion"; id: string }
  | { type: "encryptSelection"; id: string; to: string }
  | { type: "composeInsert"; id: string; to: string; text: string }
  | { type: "cancelInsertion"; id: string }
  | { type: "openUnlock" }
  | { type: "sites" }
  | { type: "addSite"; site: string }
  | { type: "removeSite"; site: string }
  /** The account password again (keys leave the worker), and the file's own password. */
  | { type: "exportBackup"; password: string; backupPassword: string }
  /**
   * A backup file (base64 of its bytes) opened with `password`, which also protects the
   * restored account. With `currentPassword`, it replaces this browser's account.
   */
  | { type: "importBackup"; data: string; password: string; currentPassword?: string }
  /** Keep the old identity key of a contact whose key changed (the review is done). */
  | { type: "keepContactKey"; address: string }
  /** The fingerprint a relay presents now, to compare before accepting it. */
  | { type: "relayKey"; url: string }
  /** Pin the relay's keys, only if they still have this fingerprint. */
  | { type: "acceptRelayKey"; url: string; fingerprint: string };

export type RequestType = Request["type"];
export type RequestOf<T extends RequestType> = Extract<Request, { type: T }>;

/** Every request type, for listeners that must tell ours from other messages. */
export const REQUEST_TYPES = [
  "state",
  "createAccount",
  "unlock",
  "lock",
  "contacts",
  "addContact",
  "verifyContact",
  "contact",
  "send",
  "fetch",
  "conversations",
  "thread",
  "changePassword",
  "settings",
  "setSettings",
  "encryptFor",
  "decryptArmor",
  "exportBundle",
  "insertion",
  "encryptSelection",
  "composeInsert",
  "cancelInsertion",
  "openUnlock",
  "sites",
  "addSite",
  "removeSite",
  "exportBackup",
  "importBackup",
  "keepContactKey",
  "relayKey",
  "acceptRelayKey",
] as const satisfies readonly RequestType[];

export type UnlockedState = {
  status: "unlocked";
  name: string;
  address: string;
  relay: string;
  fingerprint: string;
};
/** `none`: no account yet (onboarding); `locked`: an account, keys not in memory. */
export type State = { status: "none" } | { status: "locked" } | UnlockedState;

export type ContactDetail = Contact & { safetyNumber: string };
/** A contact in the list; `keyChanged`: its identity key changed, sending waits for review. */
export type ContactSummary = Contact & { keyChanged: boolean };
/** A stored message: `state` is the delivery of an outgoing one (queued, sent, failed). */
export type ThreadMessage = MessageRecord;
export interface Conversation {
  peer: string;
  last: ThreadMessage;
  unread: number;
}
export interface Decrypted {
  id: string;
  peer: string;
  direction: "in" | "out";
  text: string;
  at: number;
  verified: boolean;
  firstContact: boolean;
  newContact: boolean;
  /** Decrypted before: shown again from the history (a second decryption is a replay). */
  again: boolean;
}
export interface FetchResult {
  /** Senders of the new messages, one entry per message. */
  received: string[];
  rejected: { id: string; reason: string }[];
  pending: number;
  outbox: { sent: number; queued: number; failed: number };
}
/** Non-secret settings, in `storage.local`. */
export interface Settings {
  autoLockMinutes: number;
  /** The relay offered when creating an account. */
  relay: string;
  /** The fingerprint of the account's relay, once registered there. */
  relayFingerprint?: string;
}

/** A pending "Encrypt selection for…" or "Secure compose…" on a page's field. */
export interface InsertionInfo {
  mode: "selection" | "compose";
  /** The field is a single-line input: the armor is the compact form. */
  singleLine: boolean;
  /** The origin of the page (frame) holding the field. */
  site: string;
  /**
   * "Encrypt selection" only: the selected text, exactly what will be encrypted, for the
   * chooser (an extension page) to show. The page chose it; this is the user's check.
   */
  text?: string;
}
/** A site the content script watches, when its host permission is `allowed`. */
export interface Site {
  pattern: string;
  allowed: boolean;
}

export interface Responses {
  state: State;
  createAccount: UnlockedState & { registered: boolean };
  unlock: UnlockedState;
  lock: State;
  contacts: ContactSummary[];
  addContact: Contact;
  verifyContact: ContactDetail;
  contact: ContactDetail;
  send: { id: string; delivered: boolean; error?: string; errorCode?: string };
  fetch: FetchResult;
  conversations: Conversation[];
  thread: { peer: string; messages: ThreadMessage[] };
  changePassword: null;
  settings: Settings;
  setSettings: Settings;
  /** Armor only: the caller never gets more than the page will show. */
  encryptFor: string;
  decryptArmor: Decrypted;
  exportBundle: string;
  insertion: InsertionInfo;
  encryptSelection: null;
  composeInsert: null;
  cancelInsertion: null;
  openUnlock: null;
  sites: Site[];
  addSite: Site[];
  removeSite: Site[];
  /** The encrypted file as base64, and a file name to offer for the download. */
  exportBackup: { data: string; filename: string; bytes: number };
  importBackup: UnlockedState & { contacts: number; messages: number; sessions: number };
  keepContactKey: null;
  /** `pinned`: the fingerprint on record, for the account's own relay. */
  relayKey: { url: string; fingerprint: string; pinned?: string };
  acceptRelayKey: { url: string; fingerprint: string };
}

export type Reply<T = unknown> = { ok: true; value: T } | { ok: false; error: WireError };

function isReply(r: unknown): r is Reply {
  return typeof r === "object" && r !== null && typeof (r as { ok?: unknown }).ok === "boolean";
}

/**
 * Sends a request to the worker and returns its result. A failure is rethrown as a
 * `ProtocolError` (protocol codes) or an `ExtensionError`, with what crossed as `cause`.
 */
export async function sendRequest<T extends RequestType>(req: RequestOf<T>): Promise<Responses[T]> {
  let reply: unknown;
  try {
    reply = await chrome.runtime.sendMessage(req);
  } catch (e) {
    throw new ExtensionError("NO_RECEIVER", "the background worker did not answer", { cause: e });
  }
  if (!isReply(reply))
    throw new ExtensionError("NO_RECEIVER", "the background worker did not answer");
  if (reply.ok) return reply.value as Responses[T];
  throw fromWire(reply.error);
}
