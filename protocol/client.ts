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
import { type Bundle, decodeBundle, verifyBundle } from "./bundle.js";
import { fromHex, toHex } from "./bytes.js";
import {
  type Contact,
  type ContactRecord,
  describe,
  fromFirstMessage,
  mergeBundle,
} from "./contacts.js";
import { decodeEnvelope, decodeText, type Envelope, encodeText } from "./envelope.js";
import { fail, ProtocolError } from "./errors.js";
import * as handshake from "./handshake.js";
import {
  addressOf,
  checkName,
  checkRelayUrl,
  fingerprint,
  formatFingerprint,
  safetyNumber,
} from "./identity.js";
import { Label, labelledHash } from "./kdf.js";
import { type KdfParams, Keystore, type RecordOp } from "./keystore.js";
import * as ratchet from "./ratchet.js";
import { HybridSigner } from "./sign.js";
import type { StorageAdapter } from "./storage.js";

export interface ClientOptions {
  /** Clock in ms since the epoch; injectable for tests. */
  now?: () => number;
  kdf?: KdfParams;
}

interface SessionRecord {
  peer: string;
  created: number;
  state: ratchet.RatchetState;
}

export interface MessageRecord {
  id: string;
  peer: string;
  direction: "in" | "out";
  text: string;
  at: number;
  /** Position in this profile's history: strictly increasing. */
  seq: number;
}

export interface Received {
  id: string;
  from: string;
  text: string;
  at: number;
  /** The sender's identity was verified by the user (safety number). */
  verified: boolean;
  /** This message started a new session (and may have added a new contact). */
  firstContact: boolean;
}

/** A message's id: H(label || envelope)[0:16], hex. Used for replay detection and dedup. */
export function messageId(envelope: Uint8Array): string {
  return toHex(labelledHash(Label.messageId, envelope).slice(0, 16));
}

const SEQ_KEY = "seq";

export class Client {
  private constructor(
    private readonly keystore: Keystore,
    private account: AccountRecord,
    private readonly signer: HybridSigner,
    private readonly now: () => number,
    private seq: number,
  ) {}

  static async create(
    storage: StorageAdapter,
    p: { name: string; relay?: string; password: string },
    opts: ClientOptions = {},
  ): Promise<Client> {
    const name = checkName(p.name);
    const relay = checkRelayUrl(p.relay ?? "");
    const now = opts.now ?? Date.now;
    const keystore = await Keystore.create(storage, p.password, opts.kdf);
    const { account, signer } = await createAccount(name, relay, now());
    await keystore.write([{ key: ACCOUNT_KEY, value: account }]);
    return new Client(keystore, account, signer, now, 0);
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
    const account = await keystore.get<AccountRecord>(ACCOUNT_KEY);
    if (!account) return fail("NO_ACCOUNT", "keystore has no account");
    const seq = (await keystore.get<number>(SEQ_KEY)) ?? 0;
    const client = new Client(
      keystore,
      account,
      await HybridSigner.fromSeed(account.identitySeed),
      opts.now ?? Date.now,
      seq,
    );
    await client.maintain();
    return client;
  }

  // Record keys are blinded (keystore.blind) so the disk does not name contacts or ids.
  private contactKey(address: string): string {
    return this.keystore.blind("contact", address);
  }
  private sessionKey(id: Uint8Array | string): string {
    return this.keystore.blind("session", typeof id === "string" ? id : toHex(id));
  }
  private messageKey(id: string): string {
    return this.keystore.blind("message", id);
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
    await this.keystore.changePassword(oldPassword, newPassword, kdf);
  }

  /** Rotates the prekey when due and deletes expired prekey secrets. True if the bundle changed. */
  async maintain(force = false): Promise<boolean> {
    const next = await maintainPrekeys(this.account, this.signer, this.now(), force);
    if (!next) return false;
    await this.keystore.write([{ key: ACCOUNT_KEY, value: next }]);
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
    const bytes = typeof input === "string" ? dearmor(input, "BUNDLE").data : input;
    const b: Bundle = decodeBundle(bytes);
    await verifyBundle(b, this.now());
    if (fingerprint(b.identityKey).every((x, i) => x === fingerprint(this.signer.publicKey)[i]))
      fail("INVALID_ARGUMENT", "that is your own bundle");
    const address = addressOf(b.name, b.relay);
    const existing = await this.keystore.get<ContactRecord>(this.contactKey(address));
    const { record, identityChanged } = mergeBundle(
      existing,
      b,
      this.now(),
      opts.acceptChangedIdentity === true,
    );
    const ops: RecordOp[] = [{ key: this.contactKey(address), value: record }];
    if (identityChanged) {
      for (const key of await this.keystore.list("session/")) {
        const s = await this.keystore.get<SessionRecord>(key);
        if (s?.peer === address) ops.push({ key, value: null });
      }
    }
    await this.keystore.write(ops);
    return describe(record);
  }

  async contacts(): Promise<Contact[]> {
    const out: Contact[] = [];
    for (const key of await this.keystore.list("contact/")) {
      const c = await this.keystore.get<ContactRecord>(key);
      if (c) out.push(describe(c));
    }
    return out.sort((a, b) => a.address.localeCompare(b.address));
  }

  /** Finds a contact by address, or by name when exactly one contact has it. */
  private async findContact(who: string): Promise<ContactRecord> {
    const direct = await this.keystore.get<ContactRecord>(this.contactKey(who));
    if (direct) return direct;
    const byName = (await this.contacts()).filter((c) => c.name === who);
    if (byName.length === 1)
      return (await this.keystore.get<ContactRecord>(this.contactKey(byName[0]!.address)))!;
    if (byName.length > 1)
      fail("INVALID_ARGUMENT", `several contacts are named ${who}: use the full address`);
    return fail("UNKNOWN_CONTACT", `no contact ${who}`);
  }

  async contact(who: string): Promise<Contact & { safetyNumber: string }> {
    const c = await this.findContact(who);
    return {
      ...describe(c),
      safetyNumber: safetyNumber(fingerprint(this.signer.publicKey), fingerprint(c.identityKey)),
    };
  }

  async markVerified(who: string, verified = true): Promise<void> {
    const c = await this.findContact(who);
    await this.keystore.write([{ key: this.contactKey(c.address), value: { ...c, verified } }]);
  }

  // --- messages ------------------------------------------------------------------------

  /** Encrypts text for a contact: a session message, or a prekey message to start one. */
  async encrypt(to: string, text: string): Promise<{ id: string; envelope: Uint8Array }> {
    if (typeof text !== "string") fail("INVALID_ARGUMENT", "text must be a string");
    const c = await this.findContact(to);
    const now = this.now();
    const payload = encodeText(text);
    const session = c.session
      ? await this.keystore.get<SessionRecord>(this.sessionKey(c.session))
      : undefined;
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
    await this.keystore.write([
      {
        key: this.sessionKey(sid),
        value: { peer: c.address, created: session?.created ?? now, state } satisfies SessionRecord,
      },
      { key: this.contactKey(c.address), value: { ...c, session: sid } },
      {
        key: this.messageKey(id),
        value: {
          id,
          peer: c.address,
          direction: "out",
          text,
          at: now,
          seq: this.seq + 1,
        } satisfies MessageRecord,
      },
      { key: SEQ_KEY, value: this.seq + 1 },
    ]);
    this.seq++;
    return { id, envelope };
  }

  /** Decrypts an envelope (bytes or armor), stores it, and returns who sent it. */
  async decrypt(input: Uint8Array | string): Promise<Received> {
    const bytes = typeof input === "string" ? dearmor(input, "MESSAGE").data : input;
    const env: Envelope = decodeEnvelope(bytes);
    const id = messageId(bytes);
    if (await this.keystore.storage.get(this.messageKey(id)))
      fail("REPLAY", "message was already received");
    const now = this.now();
    const ops: RecordOp[] = [];
    let from: ContactRecord;
    let text: string;
    let firstContact = false;

    if (env.type === "prekey") {
      const prekey = findPrekey(this.account, env.prekeyId, now);
      if (!prekey)
        return fail("NOT_FOR_ME", "message is not for this profile (unknown or expired prekey)");
      const acc = await handshake.accept(this.signer.publicKey, prekey, env, now);
      if (wasSeen(prekey, acc.handshakeId)) fail("REPLAY", "first message was already received");
      const address = addressOf(acc.sender.name, acc.sender.relay);
      const existing = await this.keystore.get<ContactRecord>(this.contactKey(address));
      from = fromFirstMessage(existing, acc.sender, now);
      firstContact = true;
      text = decodeText(acc.payload);
      const sid = toHex(acc.state.sessionId);
      const account = markSeen(this.account, prekey.id, acc.handshakeId);
      ops.push(
        { key: ACCOUNT_KEY, value: account },
        {
          key: this.sessionKey(sid),
          value: { peer: address, created: now, state: acc.state } satisfies SessionRecord,
        },
      );
      from = { ...from, session: sid };
      await this.commit(ops, from, {
        id,
        peer: address,
        direction: "in",
        text,
        at: now,
        seq: this.seq + 1,
      });
      this.account = account;
    } else {
      const session = await this.keystore.get<SessionRecord>(this.sessionKey(env.sessionId));
      if (!session)
        return fail(
          "NO_SESSION",
          "no session for this message (not for this profile, or its first message has not arrived)",
        );
      const contact = await this.keystore.get<ContactRecord>(this.contactKey(session.peer));
      if (!contact) return fail("CORRUPT_STORE", "session has no contact");
      const r = await ratchet.decrypt(session.state, env, now);
      text = decodeText(r.payload);
      from = { ...contact, session: toHex(env.sessionId) };
      ops.push({
        key: this.sessionKey(env.sessionId),
        value: { ...session, state: r.state } satisfies SessionRecord,
      });
      await this.commit(ops, from, {
        id,
        peer: contact.address,
        direction: "in",
        text,
        at: now,
        seq: this.seq + 1,
      });
    }
    return { id, from: from.address, text, at: now, verified: from.verified, firstContact };
  }

  private async commit(
    ops: RecordOp[],
    contact: ContactRecord,
    message: MessageRecord,
  ): Promise<void> {
    ops.push(
      { key: this.contactKey(contact.address), value: contact },
      { key: this.messageKey(message.id), value: message },
      { key: SEQ_KEY, value: message.seq },
    );
    await this.keystore.write(ops);
    this.seq = message.seq;
  }

  /** Stored messages, oldest first; optionally only those with one peer. */
  async history(peer?: string): Promise<MessageRecord[]> {
    const out: MessageRecord[] = [];
    for (const key of await this.keystore.list("message/")) {
      const m = await this.keystore.get<MessageRecord>(key);
      if (m && (peer === undefined || m.peer === peer)) out.push(m);
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** The current prekey's id (for tests and diagnostics). */
  get prekeyId(): number {
    return currentPrekey(this.account).id;
  }

  toJSON(): string {
    return `[Client ${this.address}]`;
  }
}

export { fromHex, ProtocolError };
