/**
 * Records: a typed view of what one account keeps in its keystore
 * (docs/protocol.md §8.3). Record keys are blinded (Keystore.blind), so the storage does
 * not name contacts, sessions or messages. Every change goes through one `Batch`, which
 * is written atomically.
 */
import { ACCOUNT_KEY, type AccountRecord } from "./account.js";
import { toHex } from "./bytes.js";
import type { ContactRecord } from "./contacts.js";
import type { Keystore, RecordOp } from "./keystore.js";
import type { RatchetState } from "./ratchet.js";
import type { RelayPin } from "./relay-client.js";

export interface SessionRecord {
  peer: string;
  created: number;
  state: RatchetState;
  /**
   * Receive only: never sent on again (after a reset, e.g. following a restore). Sending
   * from a state that may have been used before would repeat message keys (§12).
   */
  retired?: boolean;
}

export interface MessageRecord {
  id: string;
  peer: string;
  direction: "in" | "out";
  text: string;
  at: number;
  /** Position in this profile's history: strictly increasing. */
  seq: number;
  /** Delivery of an outgoing message through a relay. */
  state?: "queued" | "sent" | "failed";
  /** Why delivery failed or is being retried (no secrets, no plaintext), and its code. */
  error?: string;
  errorCode?: string;
}

/** A message waiting for its relay to acknowledge it (the outbox, §13.6). */
export interface OutboxItem {
  id: string;
  /** The message's place in the history: the outbox is sent in this order. */
  seq: number;
  /** Recipient name at `relay`. */
  to: string;
  relay: string;
  envelope: Uint8Array;
  created: number;
  attempts: number;
}

/** A fetched message that waits for an earlier one (OUT_OF_ORDER), kept locally. */
export interface PendingItem {
  id: string;
  envelope: Uint8Array;
  received: number;
  /** The error code it is waiting on (OUT_OF_ORDER). */
  reason?: string;
}

const SEQ_KEY = "seq";
const hexId = (id: Uint8Array | string) => (typeof id === "string" ? id : toHex(id));

export class Records {
  private constructor(
    readonly keystore: Keystore,
    private seq: number,
  ) {}

  static async open(keystore: Keystore): Promise<Records> {
    return new Records(keystore, (await keystore.get<number>(SEQ_KEY)) ?? 0);
  }

  account(): Promise<AccountRecord | undefined> {
    return this.keystore.get<AccountRecord>(ACCOUNT_KEY);
  }

  contact(address: string): Promise<ContactRecord | undefined> {
    return this.keystore.get<ContactRecord>(this.keystore.blind("contact", address));
  }

  async contacts(): Promise<ContactRecord[]> {
    return this.all<ContactRecord>("contact/");
  }

  session(id: Uint8Array | string): Promise<SessionRecord | undefined> {
    return this.keystore.get<SessionRecord>(this.keystore.blind("session", hexId(id)));
  }

  async sessions(): Promise<SessionRecord[]> {
    return this.all<SessionRecord>("session/");
  }

  relay(url: string): Promise<RelayPin | undefined> {
    return this.keystore.get<RelayPin>(this.keystore.blind("relay", url));
  }

  relays(): Promise<RelayPin[]> {
    return this.all<RelayPin>("relay/");
  }

  message(id: string): Promise<MessageRecord | undefined> {
    return this.keystore.get<MessageRecord>(this.keystore.blind("message", id));
  }

  async outbox(): Promise<OutboxItem[]> {
    return (await this.all<OutboxItem>("outbox/")).sort((a, b) => a.seq - b.seq);
  }

  async pending(): Promise<PendingItem[]> {
    return (await this.all<PendingItem>("pending/")).sort((a, b) => a.received - b.received);
  }

  async hasMessage(id: string): Promise<boolean> {
    return (await this.keystore.storage.get(this.keystore.blind("message", id))) !== undefined;
  }

  /** Stored messages, oldest first; optionally only those with one peer. */
  async history(peer?: string): Promise<MessageRecord[]> {
    const all = await this.all<MessageRecord>("message/");
    return all.filter((m) => peer === undefined || m.peer === peer).sort((a, b) => a.seq - b.seq);
  }

  private async all<T>(prefix: string): Promise<T[]> {
    const out: T[] = [];
    for (const key of await this.keystore.list(prefix)) {
      const r = await this.keystore.get<T>(key);
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  batch(): Batch {
    return new Batch(this);
  }

  /** @internal used by Batch */
  async apply(ops: RecordOp[], seq: number): Promise<void> {
    await this.keystore.write(seq > this.seq ? [...ops, { key: SEQ_KEY, value: seq }] : ops);
    this.seq = Math.max(this.seq, seq);
  }

  /** @internal used by Batch */
  nextSeq(): number {
    return this.seq + 1;
  }
}

/** A set of record changes written in one atomic write. */
export class Batch {
  private readonly ops: RecordOp[] = [];
  private seq = 0;

  constructor(private readonly records: Records) {}

  private put(kind: string, name: string, value: unknown): this {
    this.ops.push({ key: this.records.keystore.blind(kind, name), value });
    return this;
  }

  account(a: AccountRecord): this {
    this.ops.push({ key: ACCOUNT_KEY, value: a });
    return this;
  }
  contact(c: ContactRecord): this {
    return this.put("contact", c.address, c);
  }
  session(id: Uint8Array | string, s: SessionRecord | null): this {
    return this.put("session", hexId(id), s);
  }
  /** Adds a message to the history; its `seq` is assigned here. */
  message(m: Omit<MessageRecord, "seq">): this {
    this.seq = this.records.nextSeq();
    return this.put("message", m.id, { ...m, seq: this.seq });
  }
  /** Adds a message with the place it had in another copy of this history (a restore). */
  restoreMessage(m: MessageRecord): this {
    this.seq = Math.max(this.seq, m.seq);
    return this.put("message", m.id, m);
  }
  /** Rewrites a stored message (its delivery state), keeping its place. */
  updateMessage(m: MessageRecord): this {
    return this.put("message", m.id, m);
  }
  relay(pin: RelayPin): this {
    return this.put("relay", pin.url, pin);
  }
  /** Queues (or unqueues) a message; a new item takes the seq of the message in this batch. */
  outbox(id: string, item: Omit<OutboxItem, "seq"> & { seq?: number }): this;
  outbox(id: string, item: null): this;
  outbox(id: string, item: (Omit<OutboxItem, "seq"> & { seq?: number }) | null): this {
    return this.put("outbox", id, item === null ? null : { ...item, seq: item.seq ?? this.seq });
  }
  pending(id: string, item: PendingItem | null): this {
    return this.put("pending", id, item);
  }

  commit(): Promise<void> {
    return this.records.apply(this.ops, this.seq);
  }
}
