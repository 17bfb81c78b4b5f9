/**
 * Two SECURE-MSG parties in memory, driven through the protocol's own modules: accounts
 * with signed bundles (account.ts), the first message (handshake.ts) and the session
 * ratchet (ratchet.ts), with armor and envelope decoding as a recipient does them.
 * The same steps conversation.ts runs, minus the encrypted keystore writes.
 */
import { type AccountRecord, createAccount, currentPrekey } from "../protocol/account.js";
import { armor, dearmor } from "../protocol/armor.js";
import { decodeBundle, verifyBundle } from "../protocol/bundle.js";
import { decodeEnvelope, decodeText, encodeText } from "../protocol/envelope.js";
import * as handshake from "../protocol/handshake.js";
import * as ratchet from "../protocol/ratchet.js";
import type { HybridSigner } from "../protocol/sign.js";

/** A fixed clock: the X-Wing cadence is then by message count only (every 50 per direction). */
export const NOW = 1_700_000_000_000;

export interface Account {
  account: AccountRecord;
  signer: HybridSigner;
}

export function newAccount(name: string): Promise<Account> {
  return createAccount(name, "", NOW);
}

/** The sender's side of a first message: verify the bundle (as conversation.send does), initiate. */
export async function firstMessage(from: Account, to: Account, text: string) {
  const b = decodeBundle(to.account.bundle);
  await verifyBundle(b, NOW);
  return handshake.initiate(
    { signer: from.signer, name: from.account.name, relay: from.account.relay },
    { identityKey: b.identityKey, prekeyId: b.prekeyId, prekey: b.prekey },
    encodeText(text),
    NOW,
  );
}

/** The recipient's side of a first message. */
export async function acceptFirst(to: Account, message: Uint8Array) {
  const env = decodeEnvelope(message);
  if (env.type !== "prekey") throw new Error("expected a prekey message");
  const prekey = currentPrekey(to.account);
  const accepted = await handshake.accept(to.signer.publicKey, prekey, env, NOW);
  return { accepted, text: decodeText(accepted.payload) };
}

export interface Side {
  state: ratchet.RatchetState;
}

/** A session in which both sides have sent once, so both know an X-Wing ratchet key. */
export async function session(): Promise<{ a: Side; b: Side }> {
  const alice = await newAccount("alice");
  const bob = await newAccount("bob");
  const first = await firstMessage(alice, bob, "hello");
  const { accepted } = await acceptFirst(bob, first.message);
  const a = { state: first.state };
  const b = { state: accepted.state };
  await open(a, await seal(b, "hi"));
  return { a, b };
}

export async function seal(from: Side, text: string): Promise<Uint8Array> {
  const r = await ratchet.encrypt(from.state, encodeText(text), NOW);
  from.state = r.state;
  return r.message;
}

export async function open(to: Side, message: Uint8Array): Promise<string> {
  const env = decodeEnvelope(message);
  if (env.type !== "session") throw new Error("expected a session message");
  const r = await ratchet.decrypt(to.state, env, NOW);
  to.state = r.state;
  return decodeText(r.payload);
}

export const armorMessage = (m: Uint8Array) => armor("MESSAGE", m);
export const dearmorMessage = (t: string) => dearmor(t, "MESSAGE").data;
