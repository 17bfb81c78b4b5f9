/**
 * Fan-out between relay processes (DESIGN §4): a deposit's transaction sends
 * `pg_notify(channel, payload)`, which PostgreSQL delivers to every listener once the
 * transaction commits, so a process never announces a message another cannot yet fetch.
 * Each process LISTENs on one dedicated connection and hands the notices of *other*
 * processes to its EventHub (its own deposits it has already announced in memory).
 *
 * The channel is per schema, so deployments (and test runs) sharing a database do not
 * hear each other. When the listening connection is lost, it is opened again with
 * exponential backoff (RETRY_MIN_MS to RETRY_MAX_MS). PostgreSQL does not queue notices
 * for a listener that is gone, so after listening again, the messages appended since
 * the last notice seen are read back from the table and announced (at most
 * CATCH_UP_LIMIT, this process's own among them: events only say "fetch now", so an
 * extra one costs a fetch, and clients fetch when they reconnect anyway).
 */
import type postgres from "postgres";
import { base64url } from "../../protocol/bytes.js";
import { connect, type PostgresOptions } from "./postgres-connect.js";
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
  url: string;
  options: PostgresOptions;
  schema: string;
  /** This store's origin id: its own notices are skipped. */
  origin: string;
  onDeposit: (n: DepositNotice) => void;
  /** Failures that cannot be thrown to a caller (a lost connection, a failed catch-up). */
  onError: (e: unknown) => void;
}

export class DepositListener {
  readonly #o: ListenOptions;
  readonly #sql: postgres.Sql;
  readonly #channel: string;
  /** The highest log index announced, or known when listening began. */
  #seen = -1;
  #stopped = false;
  #retries = 0;
  #timer: NodeJS.Timeout | undefined;
  #connecting = false;
  /** The connection closed while a LISTEN was under way: check again once it settles. */
  #closedMeanwhile = false;

  private constructor(o: ListenOptions) {
    this.#o = o;
    this.#channel = channelName(o.schema);
    this.#sql = connect(
      o.url,
      { ...o.options, schema: o.schema },
      {
        onnotify: (channel, payload) => this.#notified(channel, payload),
        onclose: () => this.#lost(),
      },
    ).sql;
  }

  /** Listens; throws (StoreUnavailable-mappable) if the first LISTEN fails. */
  static async start(o: ListenOptions): Promise<DepositListener> {
    const l = new DepositListener(o);
    try {
      await l.#listen(true);
    } catch (e) {
      await l.stop();
      throw e;
    }
    return l;
  }

  #notified(channel: string, text: string): void {
    if (channel !== this.#channel || this.#stopped) return;
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

  async #listen(first: boolean): Promise<void> {
    this.#connecting = true;
    try {
      // The channel name comes from a checked schema name (postgres-url.ts).
      await this.#sql.unsafe(`LISTEN "${this.#channel.replace(/"/g, '""')}"`);
      if (first) {
        // Listening: anything appended from now on is notified; what came before is not news.
        const [row] = await this.#sql<{ size: number }[]>`SELECT size FROM log_meta WHERE id = 0`;
        this.#seen = Math.max(this.#seen, row!.size - 1);
      } else {
        await this.#catchUp();
      }
      this.#retries = 0;
    } finally {
      this.#connecting = false;
    }
    if (this.#closedMeanwhile) {
      this.#closedMeanwhile = false;
      this.#lost();
    }
  }

  async #catchUp(): Promise<void> {
    const rows = await this.#sql<{ mailbox: string; id: Buffer; log_index: number }[]>`
      SELECT mailbox, id, log_index FROM messages WHERE log_index > ${this.#seen}
      ORDER BY log_index LIMIT ${CATCH_UP_LIMIT}`;
    for (const r of rows) {
      if (this.#stopped) return;
      this.#seen = Math.max(this.#seen, r.log_index);
      this.#deliver({ to: r.mailbox, id: new Uint8Array(r.id), index: r.log_index });
    }
  }

  /** The connection closed (or could not open): listen again after a backoff. */
  #lost(): void {
    if (this.#stopped || this.#timer) return;
    if (this.#connecting) {
      this.#closedMeanwhile = true;
      return;
    }
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.#retries);
    this.#retries = Math.min(this.#retries + 1, 16);
    // Jitter, so that processes cut off together do not come back in step.
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        if (this.#stopped) return;
        this.#listen(false).catch((e: unknown) => {
          this.#closedMeanwhile = false;
          this.#o.onError(e);
          this.#lost();
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
    await this.#sql.end({ timeout: 1 });
  }
}
