/**
 * Envelopes: the two message formats on the wire (docs/protocol.md §6), and the sealed
 * inner part of a prekey message. Encoding only: the cryptography is in handshake.ts and
 * ratchet.ts. Decoding is strict (BAD_ENCODING, UNSUPPORTED_VERSION).
 */

import { TAG_LENGTH } from "./aead.js";
import { concat, fromUtf8, Reader, utf8, Writer } from "./bytes.js";
import { fail } from "./errors.js";
import { Label, labelledHash } from "./kdf.js";
import * as kem from "./kem.js";
import { HYBRID_PUBLIC_LENGTH, HYBRID_SIGNATURE_LENGTH } from "./sign.js";
import { checkVersion, TYPE_PREKEY_MESSAGE, TYPE_SESSION_MESSAGE, VERSION } from "./version.js";

export const SESSION_ID_LENGTH = 8;
export const RATCHET_KEY_LENGTH = 32;
/** Largest text a message may carry: 1 MiB of UTF-8. */
export const MAX_TEXT_BYTES = 1 << 20;
/**
 * Largest ciphertext accepted in any envelope: the largest text plus room for the
 * payload kind, a first message's sealed-sender fields (about 6.6 KB) and the tag.
 */
export const MAX_CIPHERTEXT = MAX_TEXT_BYTES + 16 * 1024;

export const FLAG_ANNOUNCE = 0x01;
export const FLAG_PQ_STEP = 0x02;
/** The message's chain began with an X-Wing step (carried by that chain's message 0). */
export const FLAG_PQ_CHAIN = 0x04;
const KNOWN_FLAGS = FLAG_ANNOUNCE | FLAG_PQ_STEP | FLAG_PQ_CHAIN;

export interface PrekeyMessage {
  type: "prekey";
  prekeyId: number;
  kemCiphertext: Uint8Array;
  /** AEAD(hk, sealed inner); the AAD is `header`. */
  ciphertext: Uint8Array;
  /** The encoded bytes before the ciphertext (including its length). */
  header: Uint8Array;
}

/** The sealed part of a prekey message: only the recipient can read it. */
export interface SealedInner {
  identityKey: Uint8Array;
  name: string;
  relay: string;
  ratchetKey: Uint8Array;
  pqKeyId: number;
  pqKey: Uint8Array;
  signature: Uint8Array;
  payload: Uint8Array;
}

export interface PqAnnounce {
  keyId: number;
  publicKey: Uint8Array;
}
export interface PqStep {
  /** The recipient's announced key that the ciphertext is for. */
  keyId: number;
  ciphertext: Uint8Array;
}

export interface SessionHeader {
  sessionId: Uint8Array;
  ratchetKey: Uint8Array;
  epoch: number;
  previousLength: number;
  n: number;
  pqChain: boolean;
  announce?: PqAnnounce;
  pqStep?: PqStep;
}

export interface SessionMessage extends SessionHeader {
  type: "session";
  ciphertext: Uint8Array;
  header: Uint8Array;
}

export type Envelope = PrekeyMessage | SessionMessage;

/**
 * The ciphertext runs to the end of the envelope (§6.1): its length is implied, and
 * authenticated by the AEAD itself. Header writers still check it, so that no writer
 * makes an envelope that decoders reject.
 */
function checkCiphertextLength(n: number): void {
  if (!Number.isInteger(n) || n < TAG_LENGTH || n > MAX_CIPHERTEXT)
    throw new RangeError(`ciphertext length must be ${TAG_LENGTH}..${MAX_CIPHERTEXT}`);
}

export function prekeyHeader(
  prekeyId: number,
  kemCiphertext: Uint8Array,
  ciphertextLength: number,
): Uint8Array {
  checkCiphertextLength(ciphertextLength);
  return new Writer()
    .u8(VERSION)
    .u8(TYPE_PREKEY_MESSAGE)
    .u32(prekeyId)
    .raw(kemCiphertext, kem.CIPHERTEXT_LENGTH)
    .finish();
}

export function sessionHeader(h: SessionHeader, ciphertextLength: number): Uint8Array {
  checkCiphertextLength(ciphertextLength);
  const w = new Writer()
    .u8(VERSION)
    .u8(TYPE_SESSION_MESSAGE)
    .raw(h.sessionId, SESSION_ID_LENGTH)
    .raw(h.ratchetKey, RATCHET_KEY_LENGTH)
    .varint(h.epoch)
    .varint(h.previousLength)
    .varint(h.n)
    .u8(
      (h.announce ? FLAG_ANNOUNCE : 0) |
        (h.pqStep ? FLAG_PQ_STEP : 0) |
        (h.pqChain ? FLAG_PQ_CHAIN : 0),
    );
  if (h.announce) w.u32(h.announce.keyId).raw(h.announce.publicKey, kem.PUBLIC_KEY_LENGTH);
  if (h.pqStep) w.u32(h.pqStep.keyId).raw(h.pqStep.ciphertext, kem.CIPHERTEXT_LENGTH);
  return w.finish();
}

/** The ciphertext follows its header directly and runs to the end (§6.1). */
export function encodeEnvelope(header: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return concat(header, ciphertext);
}

export function decodeEnvelope(bytes: Uint8Array): Envelope {
  const r = new Reader(bytes, "envelope");
  checkVersion(r.u8());
  const type = r.u8();
  if (type === TYPE_PREKEY_MESSAGE) {
    const prekeyId = r.u32();
    const kemCiphertext = r.raw(kem.CIPHERTEXT_LENGTH);
    const header = bytes.slice(0, r.offset);
    const ciphertext = r.rest(TAG_LENGTH, MAX_CIPHERTEXT);
    return { type: "prekey", prekeyId, kemCiphertext, ciphertext, header };
  }
  if (type === TYPE_SESSION_MESSAGE) {
    const sessionId = r.raw(SESSION_ID_LENGTH);
    const ratchetKey = r.raw(RATCHET_KEY_LENGTH);
    const epoch = r.varint();
    const previousLength = r.varint();
    const n = r.varint();
    const flags = r.u8();
    if (flags & ~KNOWN_FLAGS) fail("BAD_ENCODING", "envelope: unknown flags");
    // An X-Wing step starts a chain: it is message 0 of a chain flagged PQ_CHAIN (§6.3.2).
    // PQ_STEP and PQ_CHAIN go together on message 0; later messages carry PQ_CHAIN alone.
    if (flags & FLAG_PQ_STEP && (n !== 0 || !(flags & FLAG_PQ_CHAIN)))
      fail("BAD_ENCODING", "envelope: an X-Wing step outside the start of its chain");
    if (flags & FLAG_PQ_CHAIN && !(flags & FLAG_PQ_STEP) && n === 0)
      fail("BAD_ENCODING", "envelope: the first message of an X-Wing chain lacks its step");
    const m: SessionMessage = {
      type: "session",
      sessionId,
      ratchetKey,
      epoch,
      previousLength,
      n,
      pqChain: (flags & FLAG_PQ_CHAIN) !== 0,
      ciphertext: new Uint8Array(0),
      header: new Uint8Array(0),
    };
    if (flags & FLAG_ANNOUNCE)
      m.announce = { keyId: r.u32(), publicKey: r.raw(kem.PUBLIC_KEY_LENGTH) };
    if (flags & FLAG_PQ_STEP)
      m.pqStep = { keyId: r.u32(), ciphertext: r.raw(kem.CIPHERTEXT_LENGTH) };
    m.header = bytes.slice(0, r.offset);
    m.ciphertext = r.rest(TAG_LENGTH, MAX_CIPHERTEXT);
    return m;
  }
  return fail("BAD_ENCODING", `envelope: unknown message type ${type}`);
}

export function encodeSealedInner(s: SealedInner): Uint8Array {
  return new Writer()
    .raw(s.identityKey, HYBRID_PUBLIC_LENGTH)
    .bytes16(utf8(s.name))
    .bytes16(utf8(s.relay))
    .raw(s.ratchetKey, RATCHET_KEY_LENGTH)
    .u32(s.pqKeyId)
    .raw(s.pqKey, kem.PUBLIC_KEY_LENGTH)
    .raw(s.signature, HYBRID_SIGNATURE_LENGTH)
    .bytes32(s.payload)
    .finish();
}

export function decodeSealedInner(bytes: Uint8Array): SealedInner {
  const r = new Reader(bytes, "sealed sender");
  const s: SealedInner = {
    identityKey: r.raw(HYBRID_PUBLIC_LENGTH),
    name: fromUtf8(r.bytes16(32)),
    relay: fromUtf8(r.bytes16(255)),
    ratchetKey: r.raw(RATCHET_KEY_LENGTH),
    pqKeyId: r.u32(),
    pqKey: r.raw(kem.PUBLIC_KEY_LENGTH),
    signature: r.raw(HYBRID_SIGNATURE_LENGTH),
    payload: r.bytes32(MAX_CIPHERTEXT),
  };
  r.end();
  return s;
}

/** A message's id: SHA-256(label || envelope)[0:16] (§6.4). The relay uses the same id. */
export function envelopeId(envelope: Uint8Array): Uint8Array {
  return labelledHash(Label.messageId, envelope).slice(0, 16);
}

// --- payload ---------------------------------------------------------------------------

/** Payload kinds inside the AEAD (docs/protocol.md §6.4). */
export const PAYLOAD_TEXT = 0x01;

export function encodeText(text: string): Uint8Array {
  return new Writer().u8(PAYLOAD_TEXT).raw(utf8(text)).finish();
}

export function decodeText(payload: Uint8Array): string {
  if (payload.length < 1 || payload[0] !== PAYLOAD_TEXT)
    fail("BAD_ENCODING", "payload: unknown kind");
  return fromUtf8(payload.subarray(1));
}
