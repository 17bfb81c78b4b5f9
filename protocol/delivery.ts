/**
 * Delivery through relays (docs/protocol.md §13.6): registering, looking contacts up,
 * the outbox, and the inbox. Nothing is lost:
 * - a message is queued in the same write that adds it to the history, and stays queued
 *   until its relay acknowledges it with a verified receipt;
 * - a fetched message is stored (or kept as pending) before it is acknowledged, and a
 *   message already stored is acknowledged again without being processed twice.
 * A sender deposits directly at the recipient's relay (federation without trust).
 */

import { decodeBundle } from "./bundle.js";
import { toHex } from "./bytes.js";
import { type ContactRecord, importBundle } from "./contacts.js";
import { type Me, type Received, receive, send } from "./conversation.js";
import { fail, ProtocolError } from "./errors.js";
import { addressOf } from "./identity.js";
import { parseAddress, relayUrlForHost } from "./relay-api.js";
import {
  RelayClient,
  type RelayClientOptions,
  type RequestSigner,
  relayFingerprint,
} from "./relay-client.js";

/** Accept changed relay keys: any (true), or only those with this relay fingerprint. */
export type AcceptKeys = boolean | string;

export interface DeliveryOptions {
  fetch?: typeof fetch;
  /** Accept relay keys that differ from the pinned ones (after re-verifying the relay). */
  acceptChangedRelayKeys?: AcceptKeys;
}

export interface InboxResult {
  received: Received[];
  /** Messages dropped because they failed a check, with the reason to show the user. */
  rejected: { id: string; reason: string }[];
  /** Messages kept locally until an earlier message arrives. */
  pending: number;
}

async function relayClient(
  me: Me,
  url: string,
  now: () => number,
  opts: DeliveryOptions,
): Promise<RelayClient> {
  const pin = await me.records.relay(url);
  const o: RelayClientOptions = { now, ...(pin ? { pin } : {}) };
  if (opts.fetch) o.fetch = opts.fetch;
  if (opts.acceptChangedRelayKeys) o.acceptChangedKeys = opts.acceptChangedRelayKeys;
  return new RelayClient(url, o);
}

/** Stores the client's pin when it is new or changed (keys or checkpoint). */
async function savePin(me: Me, rc: RelayClient): Promise<void> {
  if (rc.pinned) await me.records.batch().relay(rc.pinned).commit();
}

function requestSigner(me: Me): RequestSigner {
  return { name: me.account.name, sign: (body) => me.signer.signEd25519("request", body) };
}

function ownRelay(me: Me): string {
  if (!me.account.relay) fail("INVALID_ARGUMENT", "this profile has no relay: create it with one");
  return me.account.relay;
}

/** Publishes our bundle at our relay; returns the relay's fingerprint. */
export async function register(me: Me, now: () => number, opts: DeliveryOptions): Promise<string> {
  const rc = await relayClient(me, ownRelay(me), now, opts);
  const bundle = me.account.bundle;
  await rc.register(bundle, me.account.name);
  me.account = { ...me.account, published: bundle };
  await me.records.batch().account(me.account).relay(rc.pinned!).commit();
  // Computed from the keys we pinned, not taken from the relay's word (§13.2).
  return relayFingerprint(rc.pinned!);
}

/** Fetches `name@host[:port]` (or a bare name at our relay) from its relay, verified. */
export async function lookupContact(
  me: Me,
  address: string,
  now: () => number,
  acceptChangedIdentity: boolean,
  opts: DeliveryOptions,
): Promise<ContactRecord> {
  const { name, host } = parseAddress(address);
  const url = host ? relayUrlForHost(host) : ownRelay(me);
  const rc = await relayClient(me, url, now, opts);
  await rc.info();
  const bundle = await rc.lookup(name);
  // The relay must answer with the bundle of exactly this address: check before anything
  // is stored, so a relay cannot plant an identity for a user of another relay.
  const b = decodeBundle(bundle);
  const expected = `${name}@${host ?? new URL(url).host}`;
  if (b.name !== name || b.relay !== url || addressOf(b.name, b.relay) !== expected)
    fail(
      "BAD_SIGNATURE",
      `the relay answered with a bundle for ${addressOf(b.name, b.relay)}, not ${expected}`,
    );
  const contact = await importBundle(
    me.records,
    me.signer.publicKey,
    bundle,
    now(),
    acceptChangedIdentity,
  );
  await savePin(me, rc);
  return contact;
}

/** Encrypts and queues a message for a contact, then tries to deliver the outbox. */
export async function queue(me: Me, c: ContactRecord, text: string, now: number): Promise<string> {
  if (!c.relay)
    fail("INVALID_ARGUMENT", `${c.address} has no relay: use encrypt and send the armor yourself`);
  const { id } = await send(me, c, text, now, { url: c.relay, to: c.name });
  return id;
}

/**
 * Deposits every queued message. A relay that cannot be reached keeps its messages
 * queued (and is not tried again in this pass); a relay that refuses a message marks it
 * failed. Returns how many were delivered and how many remain.
 */
export async function flushOutbox(
  me: Me,
  now: () => number,
  opts: DeliveryOptions,
): Promise<{
  sent: number;
  queued: number;
  failed: number;
  errors: { id: string; code: string; message: string }[];
}> {
  const out = {
    sent: 0,
    queued: 0,
    failed: 0,
    errors: [] as { id: string; code: string; message: string }[],
  };
  const down = new Set<string>();
  for (const item of await me.records.outbox()) {
    if (down.has(item.relay)) {
      out.queued++;
      continue;
    }
    const message = await me.records.message(item.id);
    const batch = me.records.batch();
    try {
      const rc = await relayClient(me, item.relay, now, opts);
      await rc.deposit(item.to, item.envelope);
      batch.outbox(item.id, null);
      if (message)
        batch.updateMessage({ ...message, state: "sent", error: undefined, errorCode: undefined });
      if (rc.pinned) batch.relay(rc.pinned);
      out.sent++;
    } catch (e) {
      if (!ProtocolError.is(e)) throw e;
      if (e.code === "RELAY_REJECTED") {
        batch.outbox(item.id, null);
        if (message)
          batch.updateMessage({ ...message, state: "failed", error: e.message, errorCode: e.code });
        out.failed++;
      } else {
        // Unreachable, a bad receipt, or a changed relay key: keep it and try later.
        down.add(item.relay);
        batch.outbox(item.id, { ...item, attempts: item.attempts + 1 });
        if (message)
          batch.updateMessage({ ...message, state: "queued", error: e.message, errorCode: e.code });
        out.queued++;
      }
      out.errors.push({
        id: item.id,
        code: e.code,
        message: `${item.to} at ${item.relay}: ${e.message}`,
      });
    }
    await batch.commit();
  }
  return out;
}

/** Failures caused by the message itself: it is dropped and reported. */
const MESSAGE_FAULTS = new Set([
  "TAMPERED",
  "BAD_SIGNATURE",
  "BAD_ENCODING",
  "UNSUPPORTED_VERSION",
  "NOT_FOR_ME",
  "REPLAY",
  "TOO_MANY_SKIPPED",
  "EXPIRED",
  // Anyone can send these, so they are not kept: a session message without its session
  // (the relay delivers a session's first message before the rest), and a first message
  // that claims a known address with another identity key (shown to the user, §4.4).
  "NO_SESSION",
  "IDENTITY_CHANGED",
]);
/**
 * Failures that clear once an earlier message arrives: a chain whose X-Wing step has not
 * been seen yet. Only a holder of the session id can cause one, and they are bounded.
 */
const WAITING = new Set(["OUT_OF_ORDER"]);
/** Most messages kept pending, their total size, and how long: beyond, the oldest go. */
export const MAX_PENDING = 100;
export const MAX_PENDING_BYTES = 16 * 1024 * 1024;
export const PENDING_TTL_MS = 14 * 24 * 60 * 60 * 1000;

/** Handles one fetched envelope: stored, kept pending, or rejected. */
async function take(
  me: Me,
  id: string,
  envelope: Uint8Array,
  now: number,
  result: InboxResult,
  alreadyPending = false,
): Promise<void> {
  if (await me.records.hasMessage(id)) return; // stored before; only the ack was lost
  try {
    const r = await receive(me, envelope, now);
    if (r.account) me.account = r.account;
    result.received.push(r.received);
  } catch (e) {
    // Anything else (a damaged or locked store, a bug) is ours, not the message's:
    // it propagates, and nothing is acknowledged.
    if (!ProtocolError.is(e) || !(WAITING.has(e.code) || MESSAGE_FAULTS.has(e.code))) throw e;
    if (WAITING.has(e.code)) {
      if (!alreadyPending) await keepPending(me, id, envelope, now, e, result);
      return;
    }
    result.rejected.push({ id, reason: `${e.code}: ${e.message}` });
  }
}

async function keepPending(
  me: Me,
  id: string,
  envelope: Uint8Array,
  now: number,
  e: ProtocolError,
  result: InboxResult,
): Promise<void> {
  const batch = me.records.batch().pending(id, { id, envelope, received: now, reason: e.code });
  // Keep the newest that fit the bounds; drop (and report) the rest, oldest first.
  let count = 1;
  let bytes = envelope.length;
  const all = (await me.records.pending()).reverse();
  for (const old of all) {
    count++;
    bytes += old.envelope.length;
    if (count <= MAX_PENDING && bytes <= MAX_PENDING_BYTES && now - old.received <= PENDING_TTL_MS)
      continue;
    batch.pending(old.id, null);
    result.rejected.push({
      id: old.id,
      reason: "dropped: it waited too long for an earlier message",
    });
  }
  await batch.commit();
}

/** Retries pending messages while any of them opens (each may unlock the next). */
async function retryPending(me: Me, now: number, result: InboxResult): Promise<void> {
  for (let progress = true; progress; ) {
    progress = false;
    for (const p of await me.records.pending()) {
      const before = result.received.length + result.rejected.length;
      await take(me, p.id, p.envelope, now, result, true);
      if (
        result.received.length + result.rejected.length > before ||
        (await me.records.hasMessage(p.id))
      ) {
        await me.records.batch().pending(p.id, null).commit();
        progress = true;
      }
    }
  }
}

/**
 * Fetches, verifies, decrypts and stores everything in our inbox, then acknowledges it.
 * Returns what arrived, what was dropped (with reasons), and how many wait.
 */
export async function fetchInbox(
  me: Me,
  now: () => number,
  opts: DeliveryOptions,
): Promise<InboxResult> {
  const rc = await relayClient(me, ownRelay(me), now, opts);
  const signer = requestSigner(me);
  const result: InboxResult = { received: [], rejected: [], pending: 0 };
  for (let round = 0; round < 1000; round++) {
    const { messages, rejected } = await rc.fetchInbox(signer);
    for (const r of rejected) result.rejected.push({ id: toHex(r.id), reason: r.reason });
    for (const m of messages) await take(me, toHex(m.id), m.envelope, now(), result);
    await savePin(me, rc);
    // Everything fetched is now stored, pending, or rejected (and reported): ack it all.
    const ids = [...messages.map((m) => m.id), ...rejected.map((r) => r.id)];
    await rc.ack(signer, ids);
    if (ids.length === 0) break;
  }
  await retryPending(me, now(), result);
  result.pending = (await me.records.pending()).length;
  return result;
}

/** Follows our inbox's event stream; `onMessage` runs for each new-message event. */
export async function watchInbox(
  me: Me,
  now: () => number,
  signal: AbortSignal,
  onEvent: (e: "ready" | "message") => void,
  opts: DeliveryOptions,
): Promise<void> {
  const rc = await relayClient(me, ownRelay(me), now, opts);
  await rc.watch(requestSigner(me), signal, onEvent);
}
