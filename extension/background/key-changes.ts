/**
 * Changed keys the user must look at (issue 4): a contact whose identity key changed, and a
 * relay whose keys changed.
 *
 * Contacts: the protocol never takes a changed identity key without the user's word
 * (IDENTITY_CHANGED, docs/protocol.md §4.4), and keeps the old one meanwhile. The worker
 * also remembers that the directory showed a new key, and refuses to send to that contact
 * (IDENTITY_CHANGED) until the user has reviewed it: accepted the new key (addContact with
 * acceptChangedIdentity) or chosen to keep the old one (keepContactKey). The list names
 * contacts, so it is a keystore record under the DEK, like the read marks.
 *
 * Relays: RELAY_KEY_CHANGED is shown with the fingerprint the relay presents now
 * (relayKey), and acceptRelayKey pins exactly the keys with that fingerprint (§13.2).
 */
import type { Client } from "../../protocol/client.js";
import type { Contact } from "../../protocol/contacts.js";
import { fail, ProtocolError } from "../../protocol/errors.js";
import { checkRelayUrl } from "../../protocol/identity.js";
import { Keystore } from "../../protocol/keystore.js";
import { RelayClient, relayFingerprint } from "../../protocol/relay-client.js";
import type { StorageAdapter } from "../../protocol/storage.js";
import type { Handler } from "./handlers.js";
import type { Session } from "./session.js";

const KEY = "extension/key-changes";

export class KeyChanges {
  private constructor(
    private readonly keystore: Keystore,
    private addresses: string[],
  ) {}

  static async open(storage: StorageAdapter, dek: Uint8Array): Promise<KeyChanges> {
    const keystore = await Keystore.fromDek(storage, dek);
    return new KeyChanges(keystore, (await keystore.get<string[]>(KEY)) ?? []);
  }

  has(address: string): boolean {
    return this.addresses.includes(address);
  }

  async flag(address: string): Promise<void> {
    if (!this.has(address)) await this.save([...this.addresses, address]);
  }

  async clear(address: string): Promise<void> {
    if (this.has(address)) await this.save(this.addresses.filter((a) => a !== address));
  }

  private async save(next: string[]): Promise<void> {
    await this.keystore.write([{ key: KEY, value: next }]);
    this.addresses = next;
  }

  lock(): void {
    this.keystore.lock();
    this.addresses = [];
  }
}

/** Contacts as the popup lists them: with `keyChanged` while a review is due. */
export function withKeyChanges(session: Session, contacts: Contact[]) {
  const changes = session.keyChanges();
  return contacts.map((c) => ({ ...c, keyChanged: changes.has(c.address) }));
}

/** IDENTITY_CHANGED while the contact `to` (a name or address) waits for review. */
export async function checkReviewed(session: Session, client: Client, to: string): Promise<void> {
  const { address } = await client.contact(to);
  if (session.keyChanges().has(address))
    fail(
      "IDENTITY_CHANGED",
      `the identity key of ${address} changed: review it in Contacts before sending to them`,
    );
}

/**
 * Looks a contact up at its relay, remembering a changed identity key for review, and
 * ending the review when the user accepts the new key.
 */
export async function lookUpReviewed(
  session: Session,
  client: Client,
  address: string,
  acceptChangedIdentity: boolean,
): Promise<Contact> {
  try {
    const c = await client.addContactFromRelay(address, { acceptChangedIdentity });
    if (acceptChangedIdentity) await session.keyChanges().clear(c.address);
    return c;
  } catch (e) {
    if (ProtocolError.is(e, "IDENTITY_CHANGED")) {
      // Flag the contact as we know it; an address never added has nothing to block.
      const known = (await client.contacts()).find(
        (c) => c.address === address || c.name === address,
      );
      if (known) await session.keyChanges().flag(known.address);
    }
    throw e;
  }
}

export const keyChangeHandlers = {
  async keepContactKey({ address }, { session }) {
    const client = await session.require();
    await session.keyChanges().clear((await client.contact(address)).address);
    return null;
  },

  /** What the relay at `url` presents now, without pinning anything. */
  async relayKey({ url }, { session }) {
    const client = await session.require();
    const canonical = checkRelayUrl(url);
    if (canonical === "") return fail("INVALID_ARGUMENT", "relay URL must not be empty");
    const { fetch } = session.options;
    const rc = new RelayClient(canonical, fetch ? { fetch } : {});
    await rc.info();
    const pinned = (await session.settings()).relayFingerprint;
    return {
      url: canonical,
      fingerprint: relayFingerprint(rc.pinned!),
      ...(canonical === client.relay && pinned ? { pinned } : {}),
    };
  },

  /** Pins the relay keys with exactly `fingerprint` (the one the user was shown). */
  async acceptRelayKey({ url, fingerprint }, { session }) {
    const client = await session.require();
    const canonical = checkRelayUrl(url);
    if (canonical !== "" && canonical === client.relay) {
      const fp = await client.register({ acceptChangedRelayKeys: fingerprint });
      await session.setSettings({ relayFingerprint: fp });
      return { url: canonical, fingerprint: fp };
    }
    // Another relay: re-read a contact's bundle there, which pins that relay's keys.
    const contact = (await client.contacts()).find((c) => c.relay === canonical);
    if (!contact) return fail("INVALID_ARGUMENT", `no contact uses the relay ${canonical}`);
    await client.addContactFromRelay(contact.address, { acceptChangedRelayKeys: fingerprint });
    return { url: canonical, fingerprint };
  },
} satisfies { [T in "keepContactKey" | "relayKey" | "acceptRelayKey"]: Handler<T> };
