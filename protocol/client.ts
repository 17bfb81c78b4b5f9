/**
 * The Client facade (docs/protocol.md §8.3): one account over a storage adapter. It ties
 * the keystore, the account, contacts, sessions and message history together, and every
 * state change it makes is one atomic write. The CLI uses it now; the relay client and
 * the extension build on it.
 */
import {
  ACCOUNT_KEY,
  type AccountRecord,
  createAccount,
  currentPrekey,
  findPrekey,
  maintainPrekeys,
  markSeen,
  wasSeen,
} from "./account.js";
import { armor, dearmor } from "./armor.js";
import { decodeBundle, verifyBundle } from "./bundle.js";
import { toHex, utf8 } from "./bytes.js";
import {
  type Contact,
  type ContactRecord,
  describe,
  findContact,
  fromFirstMessage,
  importBundle,
} from "./contacts.js";
import { decodeEnvelope, decodeText, encodeText, envelopeId, MAX_TEXT_BYTES } from "./envelope.js";
import { fail } from "./errors.js";
import * as handshake from "./handshake.js";
import {
  addressOf,
  checkName,
  checkRelayUrl,
  fingerprint,
  formatFingerprint,
  safetyNumber,
} from "./identity.js";
import { type KdfParams, Keystore } from "./keystore.js";
import * as ratchet from "./ratchet.js";
import { type MessageRecord, Records } from "./records.js";
import { HybridSigner } from "./sign.js";
import type { StorageAdapter } from "./storage.js";

export interface ClientOptions {
  /** Clock in ms since the epoch; injectable for tests. */
  now?: () => number;
  kdf?: KdfParams;
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

export class Client {
  private constructor(
    private readonly records: Records,
    private account: AccountRecord,
    private readonly signer: HybridSigner,
    private readonly now: () => number,
  ) {}

  /**
   * Runs state-changing operations one at a time: two decryptions racing on one session
   * could otherwise write back an older ratchet state and re-open a used key.
   */
  private queue: Promise<unknown> = Promise.resolve();
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f, f);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private get keystore(): Keystore {
    return this.records.keystore;
  }

  static async create(
    storage: StorageAdapter,
    p: { name: string; relay?: string; password: string },
    opts: ClientOptions = {},
  ): Promise<Client> {
    const name = checkName(p.name);
    const relay = checkRelayUrl(p.relay ?? "");
    const now = opts.now ?? Date.now;
    const { account, signer } = await createAccount(name, relay, now());
    // The keystore header and the account are written in one atomic batch.
    const keystore = await Keystore.create(storage, p.password, opts.kdf, [
      { key: ACCOUNT_KEY, value: account },
    ]);
    return new Client(await Records.open(keystore), account, signer, now);
  }

  static async open(
    storage: StorageAdapter,
    password: string,
    opts: ClientOptions = {},
  ): Promise<Client> {
    return Client.load(await Keystore.unlock(storage, password), opts);
  }

  /** Re-opens with a DEK held by a trusted context (the extension's session storage). */
  static async resume(
    storage: StorageAdapter,
    dek: Uint8Array,
    opts: ClientOptions = {},
  ): Promise<Client> {
    return Client.load(await Keystore.fromDek(storage, dek), opts);
  }

  private static async load(keystore: Keystore, opts: ClientOptions): Promise<Client> {
    const records = await Records.open(keystore);
    const account = await records.account();
    if (!account) return fail("NO_ACCOUNT", "keystore has no account");
    const signer = await HybridSigner.fromSeed(account.identitySeed);
    const client = new Client(records, account, signer, opts.now ?? Date.now);
    await client.maintain();
    return client;
  }

  get name(): string {
    return this.account.name;
  }
  get relay(): string {
    return this.account.relay;
  }
  get address(): string {
    return addressOf(this.account.name, this.account.relay);
  }
  get fingerprint(): string {
    return formatFingerprint(fingerprint(this.signer.publicKey));
  }

  /** The DEK, for a trusted context that must survive restarts (extension only). */
  exportDek(): Uint8Array {
    return this.keystore.exportDek();
  }

  lock(): void {
    this.keystore.lock();
    this.signer.wipe();
  }

  async changePassword(oldPassword: string, newPassword: string, kdf?: KdfParams): Promise<void> {
    return this.serial(async () => {
      await this.keystore.changePassword(oldPassword, newPassword, kdf);
    });
  }

  /** Rotates the prekey when due and deletes expired prekey secrets. True if the bundle changed. */
  async maintain(force = false): Promise<boolean> {
    return this.serial(async () => {
      const next = await maintainPrekeys(this.account, this.signer, this.now(), force);
      if (!next) return false;
      await this.records.batch().account(next).commit();
      const changed = toHex(next.bundle) !== toHex(this.account.bundle);
      this.account = next;
      return changed;
    });
  }

  /** Our signed bundle (encoded). */
  bundle(): Uint8Array {
    return this.account.bundle.slice();
  }

  exportBundle(): string {
    return armor("BUNDLE", this.account.bundle);
  }

  // --- contacts ------------------------------------------------------------------------

  /** Imports a bundle (bytes or armor), verifies it, and adds or updates the contact. */
  async addContact(
    input: Uint8Array | string,
    opts: { acceptChangedIdentity?: boolean } = {},
  ): Promise<Contact> {
    return this.serial(async () => {
      const bytes = typeof input === "string" ? dearmor(input, "BUNDLE").data : input;
      const accept = opts.acceptChangedIdentity === true;
      const record = await importBundle(
        this.records,
        this.signer.publicKey,
        bytes,
        this.now(),
        accept,
      );
      return describe(record);
    });
  }

  async contacts(): Promise<Contact[]> {
    const all = await this.records.contacts();
    return all.map(describe).sort((a, b) => a.address.localeCompare(b.address));
  }

  private findContact(who: string): Promise<ContactRecord> {
    return findContact(this.records, who);
  }

  async contact(who: string): Promise<Contact & { safetyNumber: string }> {
    const c = await this.findContact(who);
    return {
      ...describe(c),
      safetyNumber: safetyNumber(fingerprint(this.signer.publicKey), fingerprint(c.identityKey)),
    };
  }

  async markVerified(who: string, verified = true): Promise<void> {
    return this.serial(async () => {
      const c = await this.findContact(who);
      await this.records
        .batch()
        .contact({ ...c, verified })
        .commit();
    });
  }

  // --- messages ------------------------------------------------------------------------

  /** Encrypts text for a contact: a session message, or a prekey message to start one. */
  async encrypt(to: string, text: string): Promise<{ id: string; envelope: Uint8Array }> {
    return this.serial(async () => {
      if (typeof text !== "string") fail("INVALID_ARGUMENT", "text must be a string");
      if (utf8(text).length > MAX_TEXT_BYTES)
        fail("INVALID_ARGUMENT", `text is longer than ${MAX_TEXT_BYTES} bytes`);
      const c = await this.findContact(to);
      const now = this.now();
      const payload = encodeText(text);
      let session = c.session ? await this.records.session(c.session) : undefined;
      // An X-Wing step is due but the peer never announced a key (no reply yet): a new
      // session to their current prekey is the X-Wing step instead (§6.3.4).
      if (session && ratchet.pqStalled(session.state, now) && this.usableBundle(c, now))
        session = undefined;
      let envelope: Uint8Array;
      let state: ratchet.RatchetState;
      if (session) {
        ({ message: envelope, state } = await ratchet.encrypt(session.state, payload, now));
      } else {
        if (!c.bundle)
          return fail("NO_SESSION", `no bundle for ${c.address}: import their bundle first`);
        const b = decodeBundle(c.bundle);
        await verifyBundle(b, now);
        ({ message: envelope, state } = await handshake.initiate(
          { signer: this.signer, name: this.account.name, relay: this.account.relay },
          b,
          payload,
          now,
        ));
      }
      const id = messageId(envelope);
      const sid = toHex(state.sessionId);
      await this.records
        .batch()
        .session(sid, { peer: c.address, created: session?.created ?? now, state })
        .contact({ ...c, session: sid })
        .message({ id, peer: c.address, direction: "out", text, at: now })
        .commit();
      return { id, envelope };
    });
  }

  private usableBundle(c: ContactRecord, now: number): boolean {
    return c.bundle !== null && decodeBundle(c.bundle).prekeyExpires >= now;
  }

  /** Decrypts an envelope (bytes or armor), stores it, and returns who sent it. */
  async decrypt(input: Uint8Array | string): Promise<Received> {
    return this.serial(async () => {
      const bytes = typeof input === "string" ? dearmor(input, "MESSAGE").data : input;
      const env = decodeEnvelope(bytes);
      const id = messageId(bytes);
      if (await this.records.hasMessage(id)) fail("REPLAY", "message was already received");
      const now = this.now();
      const batch = this.records.batch();
      let from: ContactRecord;
      let text: string;
      let newContact = false;

      if (env.type === "prekey") {
        const prekey = findPrekey(this.account, env.prekeyId, now);
        if (!prekey)
          return fail("NOT_FOR_ME", "message is not for this profile (unknown or expired prekey)");
        const acc = await handshake.accept(this.signer.publicKey, prekey, env, now);
        if (wasSeen(prekey, acc.handshakeId)) fail("REPLAY", "first message was already received");
        const address = addressOf(acc.sender.name, acc.sender.relay);
        const sid = toHex(acc.state.sessionId);
        const existing = await this.records.contact(address);
        newContact = existing === undefined;
        from = { ...fromFirstMessage(existing, acc.sender, now), session: sid };
        text = decodeText(acc.payload);
        const account = markSeen(this.account, prekey.id, acc.handshakeId);
        batch.account(account).session(sid, { peer: address, created: now, state: acc.state });
        await batch
          .contact(from)
          .message({ id, peer: address, direction: "in", text, at: now })
          .commit();
        this.account = account;
      } else {
        const session = await this.records.session(env.sessionId);
        if (!session)
          return fail(
            "NO_SESSION",
            "no session for this message (not for this profile, or its first message has not arrived)",
          );
        const contact = await this.records.contact(session.peer);
        if (!contact) return fail("CORRUPT_STORE", "session has no contact");
        const r = await ratchet.decrypt(session.state, env, now);
        text = decodeText(r.payload);
        // The session a peer last used is the one we answer on (simultaneous first messages).
        from = { ...contact, session: toHex(env.sessionId) };
        batch.session(env.sessionId, { ...session, state: r.state }).contact(from);
        await batch.message({ id, peer: contact.address, direction: "in", text, at: now }).commit();
      }
      return {
        id,
        from: from.address,
        text,
        at: now,
        verified: from.verified,
        firstContact: env.type === "prekey",
        newContact,
      };
    });
  }

  /** Stored messages, oldest first; optionally only those with one peer. */
  history(peer?: string): Promise<MessageRecord[]> {
    return this.records.history(peer);
  }

  /** The current prekey's id (for tests and diagnostics). */
  get prekeyId(): number {
    return currentPrekey(this.account).id;
  }

  toJSON(): string {
    return `[Client ${this.address}]`;
  }
}
