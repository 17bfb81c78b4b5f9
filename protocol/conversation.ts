/**
 * Conversations (docs/protocol.md §8.3): sending and receiving one message, with the
 * session, contact and history records each one changes, written in one atomic batch.
 * The Client facade calls these one at a time (it serialises them).
 */
import { type AccountRecord, findPrekey, markSeen, wasSeen } from "./account.js";
import { decodeBundle, verifyBundle } from "./bundle.js";
import { equal, toHex, utf8 } from "./bytes.js";
import { type ContactRecord, fromFirstMessage } from "./contacts.js";
import { decodeEnvelope, decodeText, encodeText, envelopeId, MAX_TEXT_BYTES } from "./envelope.js";
import { fail } from "./errors.js";
import * as handshake from "./handshake.js";
import { addressOf } from "./identity.js";
import * as ratchet from "./ratchet.js";
import type { Records } from "./records.js";
import type { HybridSigner } from "./sign.js";

/** What a conversation needs of our own account. */
export interface Me {
  records: Records;
  account: AccountRecord;
  signer: HybridSigner;
}

export interface Received {
  id: string;
  from: string;
  text: string;
  at: number;
  /** The sender's identity was verified by the user (safety number). */
  verified: boolean;
  /** This message started a new session. */
  firstContact: boolean;
  /** The sender was not a contact before this message (added unverified, on first use). */
  newContact: boolean;
}

/** A message's id, hex: replay detection and dedup (§6.4). */
export function messageId(envelope: Uint8Array): string {
  return toHex(envelopeId(envelope));
}

function usableBundle(c: ContactRecord, now: number): boolean {
  return c.bundle !== null && decodeBundle(c.bundle).prekeyExpires >= now;
}

/**
 * Encrypts text for a contact: a session message, or a prekey message to start one.
 * With `relay`, the envelope is also put in the outbox in the same atomic write, so a
 * message is never in the history without being queued for delivery (§13.6).
 */
export async function send(
  me: Me,
  c: ContactRecord,
  text: string,
  now: number,
  relay?: { url: string; to: string },
): Promise<{ id: string; envelope: Uint8Array }> {
  if (typeof text !== "string") fail("INVALID_ARGUMENT", "text must be a string");
  if (utf8(text).length > MAX_TEXT_BYTES)
    fail("INVALID_ARGUMENT", `text is longer than ${MAX_TEXT_BYTES} bytes`);
  const payload = encodeText(text);
  let session = c.session ? await me.records.session(c.session) : undefined;
  if (session?.retired) session = undefined;
  // An X-Wing step is due but the peer never announced a key (no reply yet): a new
  // session to their current prekey is the X-Wing step instead (§6.3.4).
  if (session && ratchet.pqStalled(session.state, now) && usableBundle(c, now)) session = undefined;
  let envelope: Uint8Array;
  let state: ratchet.RatchetState;
  if (session) {
    ({ message: envelope, state } = await ratchet.encrypt(session.state, payload, now));
  } else {
    if (!c.bundle)
      return fail("NO_SESSION", `no bundle for ${c.address}: import their bundle first`);
    const b = decodeBundle(c.bundle);
    await verifyBundle(b, now);
    const sender = { signer: me.signer, name: me.account.name, relay: me.account.relay };
    ({ message: envelope, state } = await handshake.initiate(sender, b, payload, now));
  }
  const id = messageId(envelope);
  const sid = toHex(state.sessionId);
  const batch = me.records
    .batch()
    .session(sid, { peer: c.address, created: session?.created ?? now, state })
    .contact({ ...c, session: sid })
    .message({
      id,
      peer: c.address,
      direction: "out",
      text,
      at: now,
      ...(relay ? { state: "queued" } : {}),
    });
  if (relay)
    batch.outbox(id, { id, to: relay.to, relay: relay.url, envelope, created: now, attempts: 0 });
  await batch.commit();
  return { id, envelope };
}

/**
 * Decrypts an envelope and stores it. Returns the message, and the updated account when
 * a first message changed it (its prekey's seen-handshake list).
 */
export async function receive(
  me: Me,
  bytes: Uint8Array,
  now: number,
): Promise<{ received: Received; account?: AccountRecord }> {
  const env = decodeEnvelope(bytes);
  const id = messageId(bytes);
  if (await me.records.hasMessage(id)) fail("REPLAY", "message was already received");
  const batch = me.records.batch();

  if (env.type === "prekey") {
    const prekey = findPrekey(me.account, env.prekeyId, now);
    if (!prekey)
      return fail("NOT_FOR_ME", "message is not for this profile (unknown or expired prekey)");
    const acc = await handshake.accept(me.signer.publicKey, prekey, env, now);
    if (wasSeen(prekey, acc.handshakeId) || (await me.records.session(acc.state.sessionId)))
      fail("REPLAY", "first message was already received");
    const address = addressOf(acc.sender.name, acc.sender.relay);
    if (
      address === addressOf(me.account.name, me.account.relay) ||
      equal(acc.sender.identityKey, me.signer.publicKey)
    )
      fail("BAD_SIGNATURE", "a first message that claims to come from this profile");
    const sid = toHex(acc.state.sessionId);
    const existing = await me.records.contact(address);
    const from = { ...fromFirstMessage(existing, acc.sender, now), session: sid };
    const text = decodeText(acc.payload);
    const account = markSeen(me.account, prekey.id, acc.handshakeId);
    batch
      .account(account)
      .session(sid, { peer: address, created: now, state: acc.state })
      .contact(from);
    await batch.message({ id, peer: address, direction: "in", text, at: now }).commit();
    const received = {
      id,
      from: address,
      text,
      at: now,
      verified: from.verified,
      firstContact: true,
      newContact: !existing,
    };
    return { received, account };
  }

  const session = await me.records.session(env.sessionId);
  if (!session)
    return fail(
      "NO_SESSION",
      "no session for this message (not for this profile, or its first message has not arrived)",
    );
  const contact = await me.records.contact(session.peer);
  if (!contact) return fail("CORRUPT_STORE", "session has no contact");
  const r = await ratchet.decrypt(session.state, env, now);
  const text = decodeText(r.payload);
  // The session a peer last used is the one we answer on (simultaneous first messages),
  // unless it was retired: then our next message starts a new one.
  const from = session.retired ? contact : { ...contact, session: toHex(env.sessionId) };
  batch.session(env.sessionId, { ...session, state: r.state }).contact(from);
  await batch.message({ id, peer: contact.address, direction: "in", text, at: now }).commit();
  return {
    received: {
      id,
      from: from.address,
      text,
      at: now,
      verified: from.verified,
      firstContact: false,
      newContact: false,
    },
  };
}
