/**
 * The relay's storage interface (DESIGN §4): one interface, two backends (SQLite, the
 * embedded default, and PostgreSQL for scale-out). Every method that changes state is
 * atomic and durable when its promise resolves: the relay acknowledges nothing before.
 *
 * The store also keeps the append-only Merkle log: every stored message and directory
 * entry appends its leaf in the same transaction (protocol/merkle.ts), so the log and
 * the data can never disagree.
 */

export interface StoredMessage {
  /** protocol messageId: 16 bytes. Unique per mailbox. */
  id: Uint8Array;
  /** Mailbox (recipient name). */
  to: string;
  envelope: Uint8Array;
  /** Deposit time, ms since the epoch. */
  at: number;
  /** Ms since the epoch after which the message is deleted unread. */
  expires: number;
  /** The relay's Ed25519 signature over the receipt body. */
  receipt: Uint8Array;
  /** The message's leaf index in the log. */
  index: number;
}

export interface StoredEntry {
  name: string;
  /** The encoded, identity-signed bundle. */
  bundle: Uint8Array;
  /** The hybrid identity key the name belongs to (first registration wins). */
  identityKey: Uint8Array;
  /** The bundle's own `created` time: a rotation must be newer. */
  created: number;
  /** Registration time. */
  at: number;
  /** The relay's hybrid signature over the entry body. */
  signature: Uint8Array;
  index: number;
}

export interface StoredCheckpoint {
  size: number;
  root: Uint8Array;
  at: number;
  signature: Uint8Array;
}

/** A stored message, as announced to the other relay processes sharing a store. */
export interface DepositNotice {
  to: string;
  id: Uint8Array;
  index: number;
}

export type DepositResult =
  | { status: "stored"; message: StoredMessage }
  /** The same id was already in this mailbox: the stored copy, unchanged. */
  | { status: "duplicate"; message: StoredMessage }
  | { status: "quota" };

export type PutEntryResult =
  | { status: "stored"; entry: StoredEntry }
  /** The name belongs to another identity, or the bundle is not newer than the stored one. */
  | { status: "conflict"; current: StoredEntry };

/** One deposit of a batch: the message, and its log leaf (its receipt body). */
export interface Deposit {
  message: Omit<StoredMessage, "index" | "receipt">;
  leaf: Uint8Array;
}

/**
 * Signs the receipts of the deposits a batch stores (their leaves, in order), at once and
 * synchronously (docs/protocol.md §13.2): called inside the write, once the store has
 * decided which deposits it stores, so a refused deposit is never in a signed batch.
 */
export type SignReceipts = (leaves: Uint8Array[]) => Uint8Array[];

/** Hits to count against one key's rate-limit window (RelayStore.addHits). */
export interface RateLimitHits {
  key: string;
  windowMs: number;
  add: number;
}

export interface RelayStore {
  /**
   * Stores a message and appends `leaf` to the log, unless the mailbox already holds
   * `maxPerMailbox` messages (quota) or the same id (duplicate).
   */
  deposit(
    m: Omit<StoredMessage, "index">,
    leaf: Uint8Array,
    maxPerMailbox: number,
  ): Promise<DepositResult>;
  /**
   * Group commit: `deposit` for each item, in order, all in ONE atomic, durable write. The
   * results are those of depositing the items one after another (an id repeated within
   * the batch is a duplicate of its first copy; the quota counts earlier items). The
   * receipts of the stored ones come from one call of `sign` (none if nothing is stored).
   * If the write fails, it rejects and nothing of the batch is stored.
   */
  depositMany(
    items: Deposit[],
    maxPerMailbox: number,
    sign: SignReceipts,
  ): Promise<DepositResult[]>;
  /**
   * Messages in a mailbox, oldest (lowest index) first, at most `limit`, unexpired at
   * `now`, and no more than fit in `maxBytes` bytes of envelopes: the first message is
   * always returned, and the answer stops before the first one that would pass it
   * (default: no byte limit).
   */
  fetch(to: string, limit: number, now: number, maxBytes?: number): Promise<StoredMessage[]>;
  /** Deletes these ids from this mailbox only; returns how many were deleted. */
  ack(to: string, ids: Uint8Array[]): Promise<number>;
  /** Deletes messages whose `expires` is before `now`; returns how many. */
  expire(now: number): Promise<number>;

  /**
   * Registers or rotates a name and appends `leaf` to the log. It is a conflict when the
   * name is held by a different identity key, or when `created` is not newer than the
   * stored entry's.
   */
  putEntry(e: Omit<StoredEntry, "index">, leaf: Uint8Array): Promise<PutEntryResult>;
  getEntry(name: string): Promise<StoredEntry | undefined>;

  /** Number of leaves in the log. */
  logSize(): Promise<number>;
  /** Hash of the complete subtree covering leaves [index·2^level, (index+1)·2^level). */
  node(level: number, index: number): Promise<Uint8Array>;
  /** `node` for many at once (one query where the backend allows), in the same order. */
  nodes(keys: { level: number; index: number }[]): Promise<Uint8Array[]>;
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
  /**
   * Stores a checkpoint and deletes the smaller ones (only the latest is ever handed out);
   * one with a size not above the latest is ignored.
   */
  putCheckpoint(c: StoredCheckpoint): Promise<void>;

  /** Records a request nonce until `expires`; false if it was already recorded (a replay). */
  useNonce(key: string, expires: number, now: number): Promise<boolean>;
  /**
   * Adds `add` hits to each `key`'s fixed rate-limit window (`floor(now / windowMs)`), all
   * in one write, and returns each window's count afterwards, in order. Keys are distinct.
   */
  addHits(hits: RateLimitHits[], now: number): Promise<number[]>;

  /** Every directory entry and every stored message (for re-signing under a new key). */
  allEntries(): Promise<StoredEntry[]>;
  allMessages(): Promise<StoredMessage[]>;
  /**
   * Replaces the relay signatures of these entries and messages and deletes every
   * checkpoint, atomically: after a change of relay key, nothing signed by the old key
   * is served again (the log's leaves do not change).
   */
  resign(
    entries: { name: string; signature: Uint8Array }[],
    messages: { to: string; id: Uint8Array; receipt: Uint8Array }[],
  ): Promise<void>;

  /**
   * Only on stores that several relay processes share (PostgreSQL): calls `onDeposit` for
   * every message another process stores, once it is fetchable, so that this process can
   * push it to its event streams. Resolves once listening, with a function that stops.
   * `onError` hears failures that cannot be thrown to a caller.
   */
  subscribe?(
    onDeposit: (n: DepositNotice) => void,
    onError: (e: unknown) => void,
  ): Promise<() => Promise<void>>;

  /** Throws if the store cannot serve (for /healthz). */
  health(): Promise<void>;
  close(): Promise<void>;
}
