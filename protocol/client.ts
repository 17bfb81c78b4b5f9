/**
 * The Client facade (docs/protocol.md §8.3): one account over a storage adapter, tying the
 * keystore, the account, contacts, sessions and message history together; every state
 * change it makes is one atomic write. The CLI and the extension build on it.
 */
import {
  ACCOUNT_KEY,
  type AccountRecord,
  createAccount,
  currentPrekey,
  maintainPrekeys,
  wipeAccount,
} from "./account.js";
import { armor, dearmor } from "./armor.js";
import * as backup from "./backup.js";
import { equal, toHex } from "./bytes.js";
import {
  type Contact,
  type ContactRecord,
  describe,
  findContact,
  importBundle,
} from "./contacts.js";
import type { Received } from "./conversation.js";

export type { Received };

import * as conversation from "./conversation.js";
import * as delivery from "./delivery.js";
import { fail, ProtocolError } from "./errors.js";
import {
  addressOf,
  checkName,
  checkRelayUrl,
  fingerprint,
  formatFingerprint,
  safetyNumber,
} from "./identity.js";
import { type KdfParams, Keystore } from "./keystore.js";
import { type MessageRecord, type OutboxItem, Records } from "./records.js";
import { HybridSigner } from "./sign.js";
import type { StorageAdapter } from "./storage.js";

export interface ClientOptions {
  /** Clock in ms since the epoch; injectable for tests. */
  now?: () => number;
  kdf?: KdfParams;
  /** The fetch used to reach relays; injectable for tests. */
  fetch?: typeof fetch;
}

export class Client {
  private constructor(
    private readonly records: Records,
    private account: AccountRecord,
    private readonly signer: HybridSigner,
    private readonly now: () => number,
    private readonly fetchFn?: typeof fetch,
  ) {}

  /** State changes run one at a time: racing decryptions could reuse an old ratchet state. */
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
    return new Client(await Records.open(keystore), account, signer, now, opts.fetch);
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
    const client = new Client(records, account, signer, opts.now ?? Date.now, opts.fetch);
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

  /** An encrypted backup of this account, to restore with `restoreBackup` (§14). */
  exportBackup(password: string, kdf?: KdfParams): Promise<Uint8Array> {
    return this.serial(() => backup.exportBackup(this.records, password, this.now(), kdf));
  }

  /** Wipes every key from memory; this Client is spent (writes fail without the DEK). */
  lock(): void {
    this.keystore.lock();
    this.signer.wipe();
    wipeAccount(this.account);
  }

  async changePassword(oldPassword: string, newPassword: string, kdf?: KdfParams): Promise<void> {
    return this.serial(async () => {
      await this.keystore.changePassword(oldPassword, newPassword, kdf);
    });
  }

  /** Rotates the prekey when due and deletes expired prekey secrets. True if the bundle changed. */
  maintain(force = false): Promise<boolean> {
    return this.serial(() => this.rotate(force));
  }

  private async rotate(force = false): Promise<boolean> {
    const next = await maintainPrekeys(this.account, this.signer, this.now(), force);
    if (!next) return false;
    await this.records.batch().account(next).commit();
    const changed = toHex(next.bundle) !== toHex(this.account.bundle);
    this.account = next;
    return changed;
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
      const contact = await this.findContact(to);
      return conversation.send(this.me(), contact, text, this.now());
    });
  }

  /**
   * Forgets the session with a contact, so the next message starts a new one (a prekey
   * message). For recovery after a lost message or a restored backup (§6.3.5, §12).
   */
  async resetSession(who: string): Promise<void> {
    return this.serial(async () => {
      const c = await this.findContact(who);
      // Every session with them becomes receive-only: messages in flight still open, and
      // nothing is ever sent again from a state that may have been used before.
      const batch = this.records.batch().contact({ ...c, session: null });
      for (const s of await this.records.sessions())
        if (s.peer === c.address) batch.session(s.state.sessionId, { ...s, retired: true });
      await batch.commit();
    });
  }

  /** Decrypts an envelope (bytes or armor), stores it, and returns who sent it. */
  async decrypt(input: Uint8Array | string): Promise<Received> {
    return this.serial(async () => {
      const bytes = typeof input === "string" ? dearmor(input, "MESSAGE").data : input;
      const { received, account } = await conversation.receive(this.me(), bytes, this.now());
      if (account) this.account = account;
      return received;
    });
  }

  private me(): conversation.Me {
    return { records: this.records, account: this.account, signer: this.signer };
  }

  // --- relays (delivery.ts) -------------------------------------------------------------

  /** Runs a delivery flow with our account, keeping any account change it makes. */
  private async deliver<T>(
    f: (me: conversation.Me, opts: delivery.DeliveryOptions) => Promise<T>,
    accept: delivery.AcceptKeys = false,
    serialised = true,
  ) {
    const opts: delivery.DeliveryOptions = { acceptChangedRelayKeys: accept };
    if (this.fetchFn) opts.fetch = this.fetchFn;
    if (!serialised) return f(this.me(), opts); // listens only: never writes the account back
    await this.publishIfNeeded();
    const me = this.me();
    try {
      return await f(me, opts);
    } finally {
      this.account = me.account;
    }
  }

  /**
   * Publishes a rotated bundle at our relay before other relay work, so lookups serve the
   * new prekey. Best effort: if the relay cannot take it now, the next call tries again.
   * It never accepts changed relay keys (that is for the user to decide, per call).
   */
  private async publishIfNeeded(): Promise<void> {
    await this.rotate();
    const a = this.account;
    if (!a.relay || (a.published && equal(a.published, a.bundle))) return;
    const me = this.me();
    const opts: delivery.DeliveryOptions = this.fetchFn ? { fetch: this.fetchFn } : {};
    try {
      await delivery.register(me, this.now, opts);
      this.account = me.account;
    } catch (e) {
      if (!ProtocolError.is(e)) throw e;
    }
  }

  /** Publishes our bundle at our relay, pinning its keys; returns the relay's fingerprint. */
  register(opts: { acceptChangedRelayKeys?: delivery.AcceptKeys } = {}): Promise<string> {
    return this.serial(() =>
      this.deliver((me, o) => delivery.register(me, this.now, o), opts.acceptChangedRelayKeys),
    );
  }

  /** Adds `name@host[:port]` (or a name at our relay) from its relay's directory, verified. */
  addContactFromRelay(
    address: string,
    opts: { acceptChangedIdentity?: boolean; acceptChangedRelayKeys?: delivery.AcceptKeys } = {},
  ): Promise<Contact> {
    return this.serial(() =>
      this.deliver(
        async (me, o) =>
          describe(
            await delivery.lookupContact(
              me,
              address,
              this.now,
              opts.acceptChangedIdentity === true,
              o,
            ),
          ),
        opts.acceptChangedRelayKeys,
      ),
    );
  }

  /**
   * Encrypts a message for a contact and queues it for their relay, then tries to deliver
   * everything queued. The message stays queued if the relay cannot be reached.
   */
  send(
    to: string,
    text: string,
    opts: { acceptChangedRelayKeys?: boolean } = {},
  ): Promise<{ id: string; delivered: boolean; error?: string; errorCode?: string }> {
    return this.serial(() =>
      this.deliver(async (me, o) => {
        const id = await delivery.queue(me, await this.findContact(to), text, this.now());
        await delivery.flushOutbox(me, this.now, o);
        const m = await this.records.message(id);
        return {
          id,
          delivered: m?.state === "sent",
          ...(m?.error ? { error: m.error } : {}),
          ...(m?.errorCode ? { errorCode: m.errorCode } : {}),
        };
      }, opts.acceptChangedRelayKeys),
    );
  }

  /** Retries every queued message. */
  flushOutbox(
    opts: { acceptChangedRelayKeys?: boolean } = {},
  ): ReturnType<typeof delivery.flushOutbox> {
    return this.serial(() =>
      this.deliver((me, o) => delivery.flushOutbox(me, this.now, o), opts.acceptChangedRelayKeys),
    );
  }

  outbox(): Promise<OutboxItem[]> {
    return this.records.outbox();
  }

  /** Fetches, verifies, decrypts, stores and acknowledges everything in our inbox. */
  fetchInbox(opts: { acceptChangedRelayKeys?: boolean } = {}): Promise<delivery.InboxResult> {
    return this.serial(() =>
      this.deliver((me, o) => delivery.fetchInbox(me, this.now, o), opts.acceptChangedRelayKeys),
    );
  }

  /** Follows our inbox's event stream until `signal` aborts (not serialised: it only listens). */
  watchInbox(signal: AbortSignal, onEvent: (e: "ready" | "message") => void): Promise<void> {
    return this.deliver(
      (me, o) => delivery.watchInbox(me, this.now, signal, onEvent, o),
      false,
      false,
    );
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
