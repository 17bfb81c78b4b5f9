/**
 * The session ratchet (docs/protocol.md §6.3): a hash ratchet per direction, an X25519
 * ratchet step on each change of direction, and an X-Wing (ML-KEM-768) step at least every
 * PQ_MAX_MESSAGES messages or PQ_MAX_AGE_MS per direction.
 *
 * Functions here are pure over a `RatchetState`: they return a new state and never write
 * to the one they are given, so a failed decryption changes nothing. Callers store the
 * returned state together with the message, atomically.
 *
 * The new state is a shallow copy (`nextState`): byte arrays are shared with the old
 * state and are never written in place; a changed field gets a new array. So secrets
 * the new state no longer holds (used or dropped message keys, old X-Wing seeds) are
 * dropped from it but not wiped here: the caller's old state still refers to them, and
 * whoever discards that state discards them. Temporaries made here are wiped.
 */

import * as aead from "./aead.js";
import { concat, equal, utf8, wipe } from "./bytes.js";
import { type PqAnnounce, type PqStep, type SessionMessage, sessionHeader } from "./envelope.js";
import { fail } from "./errors.js";
import { hkdf, hkdfNoSalt, hmacPair, Label } from "./kdf.js";
import * as kem from "./kem.js";
import * as x25519 from "./x25519.js";

/** An X-Wing step is due after this many messages sent since the last one... */
export const PQ_MAX_MESSAGES = 50;
/** ...or after this much time, whichever comes first (per direction). */
export const PQ_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** Most message keys one message may make us skip (per chain). */
export const MAX_SKIP = 1000;
/** Most skipped message keys kept per session; the oldest are dropped first. */
export const MAX_SKIPPED_KEYS = 2000;
/**
 * Own X-Wing ratchet keys kept at most. A key is deleted as soon as the peer steps with a
 * newer one (it has seen the newer announce, and its steps come in epoch order); this cap
 * only bounds a peer that never steps (§6.3.4).
 */
export const MAX_PQ_KEYS = 16;

export type KeyPair = x25519.KeyPair;

export interface RatchetState {
  sessionId: Uint8Array;
  /** Associated data bound into every message: both identities (§6.2). */
  ad: Uint8Array;
  rk: Uint8Array;
  /** Our current X25519 ratchet key; null for a responder that has not sent yet. */
  dhs: KeyPair | null;
  /** The peer's current X25519 ratchet public key. */
  dhr: Uint8Array | null;
  /** Null when the next send must start a new chain with an X25519 step. */
  sendCk: Uint8Array | null;
  sendEpoch: number;
  ns: number;
  pn: number;
  recvCk: Uint8Array | null;
  recvEpoch: number;
  nr: number;
  skipped: { epoch: number; n: number; key: Uint8Array }[];
  /** Our announced X-Wing ratchet keys (seed only), newest last. */
  myPq: { id: number; seed: Uint8Array }[];
  nextPqId: number;
  peerPq: { id: number; publicKey: Uint8Array } | null;
  /** Messages we sent since our last X-Wing step, and when that step was. */
  pqSince: number;
  pqAt: number;
  /** A mid-chain X-Wing step happened; the next X25519 step must carry one too (§6.3.4). */
  rootPqPending: boolean;
  /** We must announce an X-Wing key on our next message (a responder's first). */
  announcePending: boolean;
  /** Our current sending chain began with an X-Wing step (flag PQ_CHAIN, §6.3.2). */
  sendPqChain: boolean;
}

// --- KDFs (docs/protocol.md §6.3.1) -----------------------------------------------------

export function kdfRoot(rk: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const out = hkdf(ikm, rk, Label.rootStep, 64);
  const keys: [Uint8Array, Uint8Array] = [out.slice(0, 32), out.slice(32)];
  wipe(out);
  return keys;
}

function kdfChainPq(ck: Uint8Array, ss: Uint8Array): Uint8Array {
  return hkdf(ss, ck, Label.chainPqStep, 32);
}

/** KDF_CK: (HMAC(ck, 0x01), HMAC(ck, 0x02)) = (message key, next chain key). */
const kdfChain = hmacPair;

function messageKeys(mk: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  const out = hkdfNoSalt(mk, MESSAGE_KEY_INFO, 44);
  return { key: out.subarray(0, 32), nonce: out.subarray(32) };
}
const MESSAGE_KEY_INFO = utf8(Label.messageKey);

// --- state -----------------------------------------------------------------------------

export function initiatorState(p: {
  sessionId: Uint8Array;
  ad: Uint8Array;
  rk: Uint8Array;
  ck: Uint8Array;
  ratchetKey: KeyPair;
  pq: { id: number; seed: Uint8Array };
  now: number;
}): RatchetState {
  return {
    sessionId: p.sessionId,
    ad: p.ad,
    rk: p.rk,
    dhs: p.ratchetKey,
    dhr: null,
    sendCk: p.ck,
    sendEpoch: 0,
    ns: 0,
    pn: 0,
    recvCk: null,
    recvEpoch: -1,
    nr: 0,
    skipped: [],
    myPq: [p.pq],
    nextPqId: p.pq.id + 1,
    peerPq: null,
    pqSince: 0,
    pqAt: p.now,
    rootPqPending: false,
    announcePending: false,
    sendPqChain: false,
  };
}

export function responderState(p: {
  sessionId: Uint8Array;
  ad: Uint8Array;
  rk: Uint8Array;
  ck: Uint8Array;
  peerRatchetKey: Uint8Array;
  peerPq: { id: number; publicKey: Uint8Array };
  now: number;
}): RatchetState {
  return {
    sessionId: p.sessionId,
    ad: p.ad,
    rk: p.rk,
    dhs: null,
    dhr: p.peerRatchetKey,
    sendCk: null,
    sendEpoch: -1,
    ns: 0,
    pn: 0,
    recvCk: p.ck,
    recvEpoch: 0,
    nr: 0,
    skipped: [],
    myPq: [],
    nextPqId: 1,
    peerPq: p.peerPq,
    pqSince: 0,
    pqAt: p.now,
    rootPqPending: false,
    announcePending: true,
    sendPqChain: false,
  };
}

/** A deep copy, independent of `s` (tests and tools; the ratchet uses `nextState`). */
export function cloneState(s: RatchetState): RatchetState {
  return structuredClone(s);
}

/**
 * The working copy for one encrypt or decrypt: a new object and new lists, sharing the
 * byte arrays and list entries, which the ratchet never writes in place (module doc).
 */
function nextState(s: RatchetState): RatchetState {
  return { ...s, skipped: s.skipped.slice(), myPq: s.myPq.slice() };
}

function pqCadenceReached(s: RatchetState, now: number): boolean {
  return s.pqSince >= PQ_MAX_MESSAGES || now - s.pqAt >= PQ_MAX_AGE_MS;
}

function pqDue(s: RatchetState, now: number): boolean {
  return s.peerPq !== null && pqCadenceReached(s, now);
}

/**
 * True when an X-Wing step is due but impossible: the peer never announced an X-Wing
 * key (an initiator that has had no reply). The Client then starts a new session to the
 * peer's current prekey instead (§6.3.4).
 */
export function pqStalled(s: RatchetState, now: number): boolean {
  return s.peerPq === null && pqCadenceReached(s, now);
}

function addPqKey(s: RatchetState, { secretKey, publicKey }: KeyPair): PqAnnounce {
  const id = s.nextPqId++;
  s.myPq.push({ id, seed: secretKey });
  if (s.myPq.length > MAX_PQ_KEYS) s.myPq = s.myPq.slice(-MAX_PQ_KEYS);
  return { keyId: id, publicKey };
}

/**
 * Awaits every promise (so none is left unobserved) and then throws the first rejection
 * in list order, so which error a message gets does not depend on timing.
 */
async function inOrder<T extends readonly unknown[]>(
  ps: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(ps);
  for (const r of settled) if (r.status === "rejected") throw r.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as never;
}

// --- encrypt ---------------------------------------------------------------------------

export async function encrypt(
  state: RatchetState,
  payload: Uint8Array,
  now: number,
): Promise<{ state: RatchetState; message: Uint8Array }> {
  const s = nextState(state);
  let pqStep: PqStep | undefined;
  let announce: PqAnnounce | undefined;
  // Which steps this message makes (§6.3.3): an X25519 step on the first message of a new
  // direction; an X-Wing step into the root key with it, or mid-chain in a one-sided run.
  const rootStep = s.sendCk === null;
  if (rootStep && s.dhr === null) fail("INVALID_ARGUMENT", "session cannot send yet");
  const pqNow = pqDue(s, now) || (rootStep && s.rootPqPending && s.peerPq !== null);
  // Their public-key work is independent: run it together (WebCrypto works off the main
  // thread while ML-KEM runs on it). Errors are reported in this order.
  const [fresh, encaps, pqKey] = await inOrder([
    rootStep ? x25519.generateWithDh(s.dhr!) : undefined,
    pqNow ? kem.encapsulate(s.peerPq!.publicKey) : undefined,
    pqNow || s.announcePending ? kem.generateKeyPair() : undefined,
  ] as const);
  if (encaps) pqStep = { keyId: s.peerPq!.id, ciphertext: encaps.ciphertext };

  if (fresh) {
    // The old key's last use was the DH of the message that ended its direction.
    if (s.dhs) x25519.forget(s.dhs.publicKey);
    s.dhs = fresh.keyPair;
    const ikm = encaps ? concat(fresh.shared, encaps.sharedSecret) : fresh.shared;
    [s.rk, s.sendCk] = kdfRoot(s.rk, ikm);
    wipe(ikm, fresh.shared);
    if (encaps) s.rootPqPending = false;
    s.pn = s.ns;
    s.ns = 0;
    s.sendEpoch += 1;
    s.sendPqChain = encaps !== undefined;
  } else if (encaps) {
    // Mid-chain X-Wing step in a one-sided run (§6.3.4).
    s.sendCk = kdfChainPq(s.sendCk!, encaps.sharedSecret);
    s.pn = s.ns;
    s.ns = 0;
    s.sendEpoch += 1;
    s.rootPqPending = true;
    s.sendPqChain = true;
  }
  if (encaps) {
    wipe(encaps.sharedSecret);
    s.pqSince = 0;
    s.pqAt = now;
  }
  if (pqKey) {
    // Announce a fresh own X-Wing key: with every step, and on a responder's first message.
    announce = addPqKey(s, pqKey);
    s.announcePending = false;
  }

  const [mk, ck] = kdfChain(s.sendCk!);
  s.sendCk = ck;
  const n = s.ns++;
  s.pqSince++;
  const header = sessionHeader(
    {
      sessionId: s.sessionId,
      ratchetKey: s.dhs!.publicKey,
      epoch: s.sendEpoch,
      previousLength: s.pn,
      n,
      pqChain: s.sendPqChain,
      ...(announce ? { announce } : {}),
      ...(pqStep ? { pqStep } : {}),
    },
    payload.length + aead.TAG_LENGTH,
  );
  const { key, nonce } = messageKeys(mk);
  const ct = await aead.seal(key, nonce, payload, concat(s.ad, header));
  wipe(mk, key, nonce);
  return { state: s, message: concat(header, ct) };
}

// --- decrypt ---------------------------------------------------------------------------

/** Stores the keys of messages n in [s.nr, until) of the current receiving chain. */
function skipTo(s: RatchetState, until: number): void {
  if (s.recvCk === null) return;
  if (until - s.nr > MAX_SKIP) fail("TOO_MANY_SKIPPED", "message is too far ahead in its chain");
  while (s.nr < until) {
    const [mk, ck] = kdfChain(s.recvCk);
    s.skipped.push({ epoch: s.recvEpoch, n: s.nr, key: mk });
    s.recvCk = ck;
    s.nr++;
  }
  if (s.skipped.length > MAX_SKIPPED_KEYS) s.skipped = s.skipped.slice(-MAX_SKIPPED_KEYS);
}

async function pqSecret(s: RatchetState, step: PqStep): Promise<Uint8Array> {
  const mine = s.myPq.find((k) => k.id === step.keyId);
  // A key we never announced, or one deleted long ago: no later message can help, and
  // the session cannot continue in this direction. TAMPERED: start a new session.
  if (!mine)
    return fail("TAMPERED", "message uses an X-Wing ratchet key this session does not hold");
  const ss = await kem.decapsulate(mine.seed, step.ciphertext);
  // The peer has seen this key's announce: older keys of ours are no longer needed.
  s.myPq = s.myPq.filter((k) => k.id >= step.keyId);
  return ss;
}

export async function decrypt(
  state: RatchetState,
  m: SessionMessage,
  now: number,
): Promise<{ state: RatchetState; payload: Uint8Array }> {
  void now;
  const s = nextState(state);
  let mk: Uint8Array | undefined;
  let fromSkipped = false;
  let usedDhs: KeyPair | undefined;

  const i = s.skipped.findIndex((k) => k.epoch === m.epoch && k.n === m.n);
  if (i >= 0) {
    mk = s.skipped[i]!.key;
    fromSkipped = true;
    s.skipped.splice(i, 1);
  } else {
    if (m.epoch === s.recvEpoch + 1) {
      // A new chain: an X25519 step, an X-Wing step, or both (§6.3.5). If it began with an
      // X-Wing step, only its first message carries the ciphertext: wait for that one.
      if (m.pqChain && !m.pqStep)
        fail("OUT_OF_ORDER", "the earlier message that starts this chain has not arrived yet");
      if (s.recvCk !== null) skipTo(s, m.previousLength);
      const xStep = s.dhr === null || !equal(m.ratchetKey, s.dhr);
      if (xStep && s.dhs === null) fail("TAMPERED", "ratchet step before we ever sent");
      if (!xStep && (!m.pqStep || s.recvCk === null))
        fail("TAMPERED", "new chain without a ratchet step");
      // The X-Wing decapsulation and the X25519 DH are independent: run them together.
      const [ss, dh] = await inOrder([
        m.pqStep ? pqSecret(s, m.pqStep) : undefined,
        xStep ? x25519.ratchetDh(s.dhs!, m.ratchetKey) : undefined,
      ] as const);
      if (dh) {
        const ikm = ss ? concat(dh, ss) : dh;
        [s.rk, s.recvCk] = kdfRoot(s.rk, ikm);
        wipe(dh, ikm);
        usedDhs = s.dhs!;
        s.dhr = m.ratchetKey;
        s.sendCk = null;
      } else {
        s.recvCk = kdfChainPq(s.recvCk!, ss!);
      }
      wipe(ss);
      s.recvEpoch = m.epoch;
      s.nr = 0;
    }
    if (m.epoch === s.recvEpoch) {
      if (s.dhr === null || !equal(m.ratchetKey, s.dhr))
        fail("TAMPERED", "ratchet key does not match its epoch");
      if (m.n < s.nr) fail("REPLAY", "message was already received (or its key discarded)");
      skipTo(s, m.n);
      const [key, ck] = kdfChain(s.recvCk!);
      mk = key;
      s.recvCk = ck;
      s.nr = m.n + 1;
    } else if (m.epoch < s.recvEpoch) {
      fail("REPLAY", "message was already received (or its key discarded)");
    } else {
      fail("OUT_OF_ORDER", "an earlier message that starts this chain has not arrived yet");
    }
  }

  const { key, nonce } = messageKeys(mk!);
  const payload = await aead.open(key, nonce, m.ciphertext, concat(s.ad, m.header));
  // A skipped key belongs to the caller's old state too: dropped from the new one only.
  wipe(fromSkipped ? undefined : mk, key, nonce);
  if (m.announce && (s.peerPq === null || m.announce.keyId > s.peerPq.id)) {
    s.peerPq = { id: m.announce.keyId, publicKey: m.announce.publicKey };
  }
  // Our ratchet key's last DH is done (§6.3.3: the next send makes a new one).
  if (usedDhs) x25519.forget(usedDhs.publicKey);
  return { state: s, payload };
}
