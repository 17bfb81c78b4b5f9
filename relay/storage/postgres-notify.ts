/**
 * Fan-out between relay processes (DESIGN §4): a deposit's transaction sends
 * `pg_notify(channel, payload)`, which PostgreSQL delivers to every listener once the
 * transaction commits, so a process never announces a message another cannot yet fetch.
 * Each process LISTENs on one dedicated connection and hands the notices of *other*
 * processes to its EventHub (its own deposits it has already announced in memory).
 *
 * The channel is per schema, so deployments (and test runs) sharing a database do not
 * hear each other. The listening connection is a pg.Client of its own, outside the pool
 * (a pooled connection would be handed to other queries). When it is lost, a new one is
 * opened with exponential backoff (RETRY_MIN_MS to RETRY_MAX_MS). PostgreSQL does not queue notices
 * for a listener that is gone, so after listening again, the messages appended since
 * the last notice seen are read back from the table and announced (at most
 * CATCH_UP_LIMIT, this process's own among them: events only say "fetch now", so an
 * extra one costs a fetch, and clients fetch when they reconnect anyway).
 */
import pg from "pg";
import { base64url } from "../../protocol/bytes.js";
import type { ConnectionSettings } from "./postgres-connect.js";
import type { DepositNotice } from "./types.js";

const CATCH_UP_LIMIT = 1000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

/** At most 59 bytes (schema names have at most 48): PostgreSQL refuses channels of 64. */
export function channelName(schema: string): string {
  return `secure_msg:${schema}`;
}

interface Payload {
  /** The depositing store's origin id: a process skips its own notices. */
  o: string;
  t: string;
  i: string;
  n: number;
}

/** The notice a deposit's transaction sends (postgres.ts). */
export function noticePayload(origin: string, n: DepositNotice): string {
  const p: Payload = { o: origin, t: n.to, i: base64url.encode(n.id), n: n.index };
  return JSON.stringify(p);
}

function parsePayload(text: string): (DepositNotice & { origin: string }) | undefined {
  try {
    const p = JSON.parse(text) as Payload;
    if (typeof p.o !== "string" || typeof p.t !== "string" || !Number.isSafeInteger(p.n))
      return undefined;
    return { origin: p.o, to: p.t, id: base64url.decode(p.i), index: p.n };
  } catch {
    return undefined; // not ours: someone else NOTIFYing on the channel
  }
}

export interface ListenOptions {
  settings: ConnectionSettings;
  /** This store's origin id: its own notices are skipped. */
  origin: string;
  onDeposit: (n: DepositNotice) => void;
  /** Failures that cannot be thrown to a caller (a lost connection, a failed catch-up). */
  onError: (e: unknown) => void;
}

export class DepositListener {
  readonly #o: ListenOptions;
  readonly #channel: string;
  /** The connection listening now, or being opened; undefined between attempts. */
  #client: pg.Client | undefined;
  /** The highest log index announced, or known when listening began. */
  #seen = -1;
  #stopped = false;
  /** The first LISTEN succeeded: from then on, a lost connection is retried. */
  #started = false;
  #retries = 0;
  #timer: NodeJS.Timeout | undefined;

  private constructor(o: ListenOptions) {
    this.#o = o;
    this.#channel = channelName(o.settings.schema);
  }

  /** Listens; throws (StoreUnavailable-mappable) if the first LISTEN fails. */
  static async start(o: ListenOptions): Promise<DepositListener> {
    const l = new DepositListener(o);
    try {
      await l.#listen(true);
      l.#started = true;
    } catch (e) {
      await l.stop();
      throw e;
    }
    return l;
  }

  #notified(channel: string, text: string | undefined): void {
    if (channel !== this.#channel || this.#stopped || text === undefined) return;
    const n = parsePayload(text);
    if (!n) return;
    this.#seen = Math.max(this.#seen, n.index);
    if (n.origin !== this.#o.origin) this.#deliver({ to: n.to, id: n.id, index: n.index });
  }

  #deliver(n: DepositNotice): void {
    try {
      this.#o.onDeposit(n);
    } catch (e) {
      this.#o.onError(e);
    }
  }

  /** Opens a connection and LISTENs on it; on the first, notes where the log stands. */
  async #listen(first: boolean): Promise<void> {
    const c = new pg.Client(this.#o.settings.client);
    this.#client = c;
    // Both are needed: 'error' alone would crash the process were no one listening, and a
    // connection the server ends cleanly emits 'end' only.
    c.on("error", (e) => this.#lost(c, e));
    c.on("end", () => this.#lost(c));
    c.on("notification", (m) => this.#notified(m.channel, m.payload));
    try {
      await c.connect();
      // The channel name comes from a checked schema name (postgres-url.ts).
      await c.query(`LISTEN "${this.#channel.replace(/"/g, '""')}"`);
      if (first) {
        // Listening: anything appended from now on is notified; what came before is not news.
        const { rows } = await c.query<{ size: number }>("SELECT size FROM log_meta WHERE id = 0");
        this.#seen = Math.max(this.#seen, rows[0]!.size - 1);
      } else {
        await this.#catchUp(c);
      }
      this.#retries = 0;
    } catch (e) {
      this.#drop(c);
      throw e;
    }
  }

  async #catchUp(c: pg.Client): Promise<void> {
    const { rows } = await c.query<{ mailbox: string; id: Buffer; log_index: number }>(
      `SELECT mailbox, id, log_index FROM messages WHERE log_index > $1
       ORDER BY log_index LIMIT $2`,
      [this.#seen, CATCH_UP_LIMIT],
    );
    for (const r of rows) {
      if (this.#stopped) return;
      this.#seen = Math.max(this.#seen, r.log_index);
      this.#deliver({ to: r.mailbox, id: new Uint8Array(r.id), index: r.log_index });
    }
  }

  /** Forgets connection `c` (if it is the current one) and closes it. */
  #drop(c: pg.Client): boolean {
    if (this.#client !== c) return false;
    this.#client = undefined;
    c.end().catch(() => undefined);
    return true;
  }

  /** Connection `c` broke or ended: if it was the current one, listen again after a backoff. */
  #lost(c: pg.Client, e?: unknown): void {
    if (!this.#drop(c) || this.#stopped || !this.#started) return;
    this.#o.onError(e ?? new Error("the LISTEN connection to the database closed"));
    this.#retry();
  }

  #retry(): void {
    if (this.#stopped || this.#timer) return;
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.#retries);
    this.#retries = Math.min(this.#retries + 1, 16);
    // Jitter, so that processes cut off together do not come back in step.
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        if (this.#stopped) return;
        this.#listen(false).catch((e: unknown) => {
          if (this.#stopped) return;
          this.#o.onError(e);
          this.#retry();
        });
      },
      delay * (0.5 + Math.random() / 2),
    );
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const c = this.#client;
    this.#client = undefined;
    await c?.end().catch(() => undefined);
  }
}
