/**
 * The first message of a session (docs/protocol.md §6.2): sealed sender over X-Wing.
 *
 * The outer header names only the recipient's prekey. Inside the AEAD are the sender's
 * identity and address, its first X25519 ratchet key, its first X-Wing ratchet key, a
 * hybrid signature over the transcript, and the payload.
 */

import * as aead from "./aead.js";
import { utf8, Writer } from "./bytes.js";
import {
  decodeSealedInner,
  encodeEnvelope,
  encodeSealedInner,
  type PrekeyMessage,
  prekeyHeader,
  SESSION_ID_LENGTH,
} from "./envelope.js";
import { fail } from "./errors.js";
import { fingerprint, isCanonicalRelay, NAME_PATTERN } from "./identity.js";
import { hkdf, Label, labelledHash } from "./kdf.js";
import * as kem from "./kem.js";
import { initiatorState, type RatchetState, responderState } from "./ratchet.js";
import { type HybridSigner, verifyHybrid } from "./sign.js";
import * as x25519 from "./x25519.js";

/** What the sender needs of the recipient: fields of a verified bundle. */
export interface Recipient {
  identityKey: Uint8Array;
  prekeyId: number;
  prekey: Uint8Array;
}

export interface Sender {
  signer: HybridSigner;
  name: string;
  relay: string;
}

const ZERO_NONCE = new Uint8Array(aead.NONCE_LENGTH);

/** th = H(label || recipient fingerprint || prekey id || prekey || KEM ciphertext). */
function transcriptHash(
  recipientFp: Uint8Array,
  prekeyId: number,
  prekey: Uint8Array,
  kemCt: Uint8Array,
): Uint8Array {
  return labelledHash(
    Label.handshakeTranscript,
    recipientFp,
    new Writer().u32(prekeyId).finish(),
    prekey,
    kemCt,
  );
}

/** The bytes the sender signs: th binds the recipient; the rest binds the sender. */
function signedTranscript(
  th: Uint8Array,
  identityKey: Uint8Array,
  name: string,
  relay: string,
  ratchetKey: Uint8Array,
  pqKeyId: number,
  pqKey: Uint8Array,
): Uint8Array {
  return new Writer()
    .raw(th)
    .raw(identityKey)
    .bytes16(utf8(name))
    .bytes16(utf8(relay))
    .raw(ratchetKey)
    .u32(pqKeyId)
    .raw(pqKey)
    .finish();
}

function deriveKeys(
  ss: Uint8Array,
  th: Uint8Array,
  initiatorFp: Uint8Array,
  responderFp: Uint8Array,
) {
  const out = hkdf(ss, th, Label.handshakeKeys, 96);
  return {
    hk: out.slice(0, 32),
    rk: out.slice(32, 64),
    ck: out.slice(64, 96),
    sessionId: labelledHash(Label.sessionId, th).slice(0, SESSION_ID_LENGTH),
    ad: labelledHash(Label.sessionAd, initiatorFp, responderFp),
  };
}

/** Builds a prekey message and the initiator's session state. */
export async function initiate(
  sender: Sender,
  recipient: Recipient,
  payload: Uint8Array,
  now: number,
): Promise<{ message: Uint8Array; state: RatchetState; handshakeId: Uint8Array }> {
  const { ciphertext: kemCt, sharedSecret } = await kem.encapsulate(recipient.prekey);
  const recipientFp = fingerprint(recipient.identityKey);
  const th = transcriptHash(recipientFp, recipient.prekeyId, recipient.prekey, kemCt);
  const k = deriveKeys(sharedSecret, th, fingerprint(sender.signer.publicKey), recipientFp);
  const ratchetKey = await x25519.generateKeyPair();
  const pq = await kem.generateKeyPair();
  const pqKeyId = 1;
  const signature = await sender.signer.sign(
    Label.handshakeSignature,
    signedTranscript(
      th,
      sender.signer.publicKey,
      sender.name,
      sender.relay,
      ratchetKey.publicKey,
      pqKeyId,
      pq.publicKey,
    ),
  );
  const inner = encodeSealedInner({
    identityKey: sender.signer.publicKey,
    name: sender.name,
    relay: sender.relay,
    ratchetKey: ratchetKey.publicKey,
    pqKeyId,
    pqKey: pq.publicKey,
    signature,
    payload,
  });
  const header = prekeyHeader(recipient.prekeyId, kemCt, inner.length + aead.TAG_LENGTH);
  const ct = await aead.seal(k.hk, ZERO_NONCE, inner, header);
  const state = initiatorState({
    sessionId: k.sessionId,
    ad: k.ad,
    rk: k.rk,
    ck: k.ck,
    ratchetKey,
    pq: { id: pqKeyId, seed: pq.secretKey },
    now,
  });
  return { message: encodeEnvelope(header, ct), state, handshakeId: th };
}

export interface Accepted {
  state: RatchetState;
  /** th: identifies this handshake for replay detection. */
  handshakeId: Uint8Array;
  sender: { identityKey: Uint8Array; name: string; relay: string };
  payload: Uint8Array;
}

/**
 * Opens a prekey message with our identity and the matching prekey secret. Fails with
 * TAMPERED (AEAD), BAD_ENCODING (inner structure) or BAD_SIGNATURE (transcript).
 */
export async function accept(
  ourIdentityKey: Uint8Array,
  prekey: { id: number; seed: Uint8Array; publicKey: Uint8Array },
  m: PrekeyMessage,
  now: number,
): Promise<Accepted> {
  if (m.prekeyId !== prekey.id) fail("NOT_FOR_ME", "message is for another prekey");
  const ss = await kem.decapsulate(prekey.seed, m.kemCiphertext);
  const ourFp = fingerprint(ourIdentityKey);
  const th = transcriptHash(ourFp, prekey.id, prekey.publicKey, m.kemCiphertext);
  // The initiator fingerprint is not known until the inner part is open; derive hk first.
  const hk = hkdf(ss, th, Label.handshakeKeys, 32);
  const inner = decodeSealedInner(
    await aead.open(hk, ZERO_NONCE, m.ciphertext, m.header, "first message"),
  );
  if (!NAME_PATTERN.test(inner.name) || !isCanonicalRelay(inner.relay))
    fail("BAD_ENCODING", "first message: invalid sender name or relay URL");
  const ok = await verifyHybrid(
    inner.identityKey,
    Label.handshakeSignature,
    signedTranscript(
      th,
      inner.identityKey,
      inner.name,
      inner.relay,
      inner.ratchetKey,
      inner.pqKeyId,
      inner.pqKey,
    ),
    inner.signature,
  );
  if (!ok) fail("BAD_SIGNATURE", "first message: sender signature does not verify");
  const k = deriveKeys(ss, th, fingerprint(inner.identityKey), ourFp);
  const state = responderState({
    sessionId: k.sessionId,
    ad: k.ad,
    rk: k.rk,
    ck: k.ck,
    peerRatchetKey: inner.ratchetKey,
    peerPq: { id: inner.pqKeyId, publicKey: inner.pqKey },
    now,
  });
  return {
    state,
    handshakeId: th,
    sender: { identityKey: inner.identityKey, name: inner.name, relay: inner.relay },
    payload: inner.payload,
  };
}
