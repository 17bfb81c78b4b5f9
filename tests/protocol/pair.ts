/** Test helper: two identities with a session between them, driven at the ratchet level. */

import { utf8 } from "../../protocol/bytes.js";
import { decodeEnvelope, type SessionMessage } from "../../protocol/envelope.js";
import * as handshake from "../../protocol/handshake.js";
import * as kem from "../../protocol/kem.js";
import * as ratchet from "../../protocol/ratchet.js";
import { HybridSigner } from "../../protocol/sign.js";

export interface Party {
  state: ratchet.RatchetState;
}

export async function identities() {
  const alice = await HybridSigner.generate();
  const bob = await HybridSigner.generate();
  const prekey = await kem.generateKeyPair();
  return { alice, bob, prekey: { id: 7, seed: prekey.secretKey, publicKey: prekey.publicKey } };
}

export async function pair(now = 1_700_000_000_000) {
  const { alice, bob, prekey } = await identities();
  const first = await handshake.initiate(
    { signer: alice, name: "alice", relay: "" },
    { identityKey: bob.publicKey, prekeyId: prekey.id, prekey: prekey.publicKey },
    utf8("hello"),
    now,
  );
  const env = decodeEnvelope(first.message);
  if (env.type !== "prekey") throw new Error("expected prekey message");
  const accepted = await handshake.accept(bob.publicKey, prekey, env, now);
  return {
    a: { state: first.state } as Party,
    b: { state: accepted.state } as Party,
    first,
    accepted,
  };
}

/** Encrypts on `from` and returns the decoded session message (state advanced). */
export async function send(
  from: Party,
  text: string,
  now = 1_700_000_000_000,
): Promise<SessionMessage> {
  const r = await ratchet.encrypt(from.state, utf8(text), now);
  from.state = r.state;
  const m = decodeEnvelope(r.message);
  if (m.type !== "session") throw new Error("expected session message");
  return m;
}

export async function receive(
  to: Party,
  m: SessionMessage,
  now = 1_700_000_000_000,
): Promise<string> {
  const r = await ratchet.decrypt(to.state, m, now);
  to.state = r.state;
  return new TextDecoder().decode(r.payload);
}
