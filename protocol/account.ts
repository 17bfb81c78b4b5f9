/**
 * The account record (docs/protocol.md §5.2): our identity seed, our prekeys, and the
 * rules for rotating them. A prekey is current for PREKEY_ROTATE_MS; after that a new
 * one replaces it in the bundle, and the old secret is kept only until its published
 * expiry (the grace period), then deleted.
 */

import { type Bundle, encodeBundle, signBundle } from "./bundle.js";
import { toHex, wipe } from "./bytes.js";
import { fail } from "./errors.js";
import * as kem from "./kem.js";
import { HybridSigner } from "./sign.js";

export const PREKEY_ROTATE_MS = 7 * 24 * 60 * 60 * 1000;
export const PREKEY_GRACE_MS = 7 * 24 * 60 * 60 * 1000;
/** Handshakes remembered per prekey for replay detection, at most. */
const MAX_SEEN_HANDSHAKES = 2000;

export interface PrekeyRecord {
  id: number;
  seed: Uint8Array;
  publicKey: Uint8Array;
  created: number;
  /** Published expiry: created + rotate + grace. The secret is deleted after it. */
  expires: number;
  /** Hex ids (th) of handshakes accepted with this prekey. */
  seen: string[];
}

export interface AccountRecord {
  v: 1;
  name: string;
  relay: string;
  identitySeed: Uint8Array;
  created: number;
  prekeys: PrekeyRecord[];
  /** The signed bundle for the newest prekey. */
  bundle: Uint8Array;
  /** The bundle last registered at our relay; a newer `bundle` still has to be published. */
  published?: Uint8Array;
}

export const ACCOUNT_KEY = "account";

function randomId(taken: number[]): number {
  for (;;) {
    const id = crypto.getRandomValues(new Uint32Array(1))[0]!;
    if (id !== 0 && !taken.includes(id)) return id;
  }
}

async function newPrekey(taken: number[], now: number): Promise<PrekeyRecord> {
  const { secretKey, publicKey } = await kem.generateKeyPair();
  return {
    id: randomId(taken),
    seed: secretKey,
    publicKey,
    created: now,
    expires: now + PREKEY_ROTATE_MS + PREKEY_GRACE_MS,
    seen: [],
  };
}

async function sign(signer: HybridSigner, a: AccountRecord, now: number): Promise<Uint8Array> {
  const p = currentPrekey(a);
  const b: Bundle = await signBundle(signer, {
    name: a.name,
    relay: a.relay,
    identityKey: signer.publicKey,
    prekeyId: p.id,
    prekey: p.publicKey,
    prekeyExpires: p.expires,
    created: now,
  });
  return encodeBundle(b);
}

export async function createAccount(
  name: string,
  relay: string,
  now: number,
): Promise<{ account: AccountRecord; signer: HybridSigner }> {
  const signer = await HybridSigner.generate();
  const account: AccountRecord = {
    v: 1,
    name,
    relay,
    identitySeed: signer.exportSeed(),
    created: now,
    prekeys: [await newPrekey([], now)],
    bundle: new Uint8Array(0),
  };
  account.bundle = await sign(signer, account, now);
  return { account, signer };
}

export function currentPrekey(a: AccountRecord): PrekeyRecord {
  const p = a.prekeys[a.prekeys.length - 1];
  if (!p) return fail("CORRUPT_STORE", "account has no prekey");
  return p;
}

export function findPrekey(a: AccountRecord, id: number, now: number): PrekeyRecord | undefined {
  return a.prekeys.find((p) => p.id === id && now <= p.expires);
}

/**
 * Rotates the prekey when it is due and deletes secrets past their expiry. Returns the
 * updated record, or undefined when nothing changed.
 */
export async function maintainPrekeys(
  a: AccountRecord,
  signer: HybridSigner,
  now: number,
  force = false,
): Promise<AccountRecord | undefined> {
  let changed = false;
  const next: AccountRecord = { ...a, prekeys: a.prekeys.filter((p) => now <= p.expires) };
  if (next.prekeys.length !== a.prekeys.length) changed = true;
  const cur = next.prekeys[next.prekeys.length - 1];
  if (force || !cur || now - cur.created >= PREKEY_ROTATE_MS) {
    next.prekeys = [
      ...next.prekeys,
      await newPrekey(
        next.prekeys.map((p) => p.id),
        now,
      ),
    ];
    next.bundle = await sign(signer, next, now);
    changed = true;
  }
  return changed ? next : undefined;
}

export function markSeen(
  a: AccountRecord,
  prekeyId: number,
  handshakeId: Uint8Array,
): AccountRecord {
  const hex = toHex(handshakeId);
  return {
    ...a,
    prekeys: a.prekeys.map((p) =>
      p.id === prekeyId ? { ...p, seen: [...p.seen, hex].slice(-MAX_SEEN_HANDSHAKES) } : p,
    ),
  };
}

export function wasSeen(p: PrekeyRecord, handshakeId: Uint8Array): boolean {
  return p.seen.includes(toHex(handshakeId));
}

/**
 * Zeroes an account's secrets in memory (identity seed, prekey seeds), as a lock does: they
 * would otherwise stay until collected. Written records are sealed copies, never these.
 */
export function wipeAccount(a: AccountRecord): void {
  wipe(a.identitySeed, ...a.prekeys.map((p) => p.seed));
}
