/**
 * Contacts (docs/protocol.md §4.4): who we talk to and which identity key we pinned for
 * them. A contact's identity key never changes silently: a different key for a known
 * address is IDENTITY_CHANGED until the user accepts it again (re-verification).
 */
import { type Bundle, decodeBundle, encodeBundle, verifyBundle } from "./bundle.js";
import { equal } from "./bytes.js";
import { fail } from "./errors.js";
import { addressOf, fingerprint, formatFingerprint } from "./identity.js";
import type { Records } from "./records.js";

export interface ContactRecord {
  address: string;
  name: string;
  relay: string;
  identityKey: Uint8Array;
  /** The newest verified bundle, or null for a contact first met through its message. */
  bundle: Uint8Array | null;
  /** The user compared the safety number out of band. */
  verified: boolean;
  added: number;
  /** Hex id of the session used for sending, if any. */
  session: string | null;
}

/** What the facade shows of a contact. */
export interface Contact {
  address: string;
  name: string;
  relay: string;
  fingerprint: string;
  verified: boolean;
  canStartSession: boolean;
}

export function describe(c: ContactRecord): Contact {
  return {
    address: c.address,
    name: c.name,
    relay: c.relay,
    fingerprint: formatFingerprint(fingerprint(c.identityKey)),
    verified: c.verified,
    canStartSession: c.bundle !== null,
  };
}

/**
 * Merges a verified bundle into the contact list. Returns the record to store, and
 * whether the identity changed (which also drops the old sessions).
 */
export function mergeBundle(
  existing: ContactRecord | undefined,
  b: Bundle,
  now: number,
  acceptChangedIdentity: boolean,
): { record: ContactRecord; identityChanged: boolean } {
  const address = addressOf(b.name, b.relay);
  // A bundle older than the one we hold is ignored: a relay cannot roll a contact back.
  if (
    existing?.bundle &&
    decodeBundle(existing.bundle).created > b.created &&
    equal(existing.identityKey, b.identityKey)
  )
    return { record: existing, identityChanged: false };
  if (existing && !equal(existing.identityKey, b.identityKey)) {
    if (!acceptChangedIdentity)
      fail(
        "IDENTITY_CHANGED",
        `the identity key of ${address} changed: verify the new safety number before accepting it`,
      );
    return {
      record: {
        ...existing,
        identityKey: b.identityKey,
        bundle: encodeBundle(b),
        verified: false,
        session: null,
      },
      identityChanged: true,
    };
  }
  const record: ContactRecord = existing
    ? { ...existing, bundle: encodeBundle(b), relay: b.relay }
    : {
        address,
        name: b.name,
        relay: b.relay,
        identityKey: b.identityKey,
        bundle: encodeBundle(b),
        verified: false,
        added: now,
        session: null,
      };
  return { record, identityChanged: false };
}

/** A contact first met through its first message (trust on first use, unverified). */
export function fromFirstMessage(
  existing: ContactRecord | undefined,
  sender: { identityKey: Uint8Array; name: string; relay: string },
  now: number,
): ContactRecord {
  const address = addressOf(sender.name, sender.relay);
  if (existing) {
    if (!equal(existing.identityKey, sender.identityKey))
      fail(
        "IDENTITY_CHANGED",
        `the identity key of ${address} changed: verify the new safety number before accepting it`,
      );
    return existing;
  }
  return {
    address,
    name: sender.name,
    relay: sender.relay,
    identityKey: sender.identityKey,
    bundle: null,
    verified: false,
    added: now,
    session: null,
  };
}

/**
 * Verifies a bundle and adds or updates its contact, in one batch. A changed identity
 * (accepted) ends the old sessions: nothing more is sent or accepted on them.
 */
export async function importBundle(
  records: Records,
  ownIdentityKey: Uint8Array,
  bytes: Uint8Array,
  now: number,
  acceptChangedIdentity: boolean,
): Promise<ContactRecord> {
  const b = decodeBundle(bytes);
  await verifyBundle(b, now);
  if (equal(b.identityKey, ownIdentityKey)) fail("INVALID_ARGUMENT", "that is your own bundle");
  const address = addressOf(b.name, b.relay);
  const existing = await records.contact(address);
  const { record, identityChanged } = mergeBundle(existing, b, now, acceptChangedIdentity);
  const batch = records.batch().contact(record);
  if (identityChanged) {
    for (const s of await records.sessions())
      if (s.peer === address) batch.session(s.state.sessionId, null);
  }
  await batch.commit();
  return record;
}

/** Finds a contact by address, or by name when exactly one contact has it. */
export async function findContact(records: Records, who: string): Promise<ContactRecord> {
  const direct = await records.contact(who);
  if (direct) return direct;
  const byName = (await records.contacts()).filter((c) => c.name === who);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1)
    fail("INVALID_ARGUMENT", `several contacts are named ${who}: use the full address`);
  return fail("UNKNOWN_CONTACT", `no contact ${who}`);
}
