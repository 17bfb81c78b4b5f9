/**
 * The load driver: every client runs a closed loop (deposit one envelope for a random
 * other client, fetch its own inbox, acknowledge what it fetched) until the deadline.
 * A deposit that fails stays in the client's outbox and is retried with the same
 * envelope, as the protocol Client does, so a message is never dropped by the test
 * itself. `drain()` then flushes the outboxes and empties every inbox.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ROOT } from "../integration/helpers.js";
import { envelope, type LoadClient } from "./clients.js";
import type { Ledger } from "./ledger.js";

export interface Routes {
  /** The relay process client `i` deposits at, and the one it reads its inbox from. */
  deposit(i: number): string;
  fetch(i: number): string;
}

interface Pending {
  to: string;
  envelope: Uint8Array;
  id: Uint8Array;
}

/** Pause after an error, so a client does not spin while a relay is down. */
const BACKOFF_MS = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Driver {
  private readonly outbox: (Pending | undefined)[];
  /** Deposits acknowledged per client. */
  readonly acknowledged: number[];

  constructor(
    readonly clients: LoadClient[],
    readonly routes: Routes,
    readonly ledger: Ledger,
    readonly envelopeBytes = 256,
  ) {
    this.outbox = clients.map(() => undefined);
    this.acknowledged = clients.map(() => 0);
  }

  private next(i: number): Pending {
    let p = this.outbox[i];
    if (!p) {
      let j = Math.floor(Math.random() * (this.clients.length - 1));
      if (j >= i) j++;
      const to = this.clients[j]!.name;
      p = { to, ...envelope(this.envelopeBytes) };
      this.ledger.attempt(to, p.id);
      this.outbox[i] = p;
    }
    return p;
  }

  /** Tries client i's pending deposit once; true when the relay acknowledged it. */
  async deposit(i: number): Promise<boolean> {
    const p = this.next(i);
    const t = performance.now();
    try {
      const r = await this.clients[i]!.at(this.routes.deposit(i)).deposit(p.to, p.envelope);
      this.ledger.deposited(p.to, r.id, r.duplicate, performance.now() - t);
      this.outbox[i] = undefined;
      this.acknowledged[i]!++;
      return true;
    } catch (e) {
      this.ledger.error("deposit", e);
      this.ledger.unacknowledged(p.id);
      return false;
    }
  }

  /** Fetches client i's inbox once and acknowledges it; the number fetched, or -1 on error. */
  async fetch(i: number): Promise<number> {
    const c = this.clients[i]!;
    const rc = c.at(this.routes.fetch(i));
    let ids: Uint8Array[];
    try {
      const r = await rc.fetchInbox(c.signer);
      for (const x of r.rejected) this.ledger.error("fetch", new Error(x.reason));
      ids = r.messages.map((m) => m.id);
      this.ledger.received(c.name, ids);
    } catch (e) {
      this.ledger.error("fetch", e);
      return -1;
    }
    if (ids.length === 0) return 0;
    try {
      await rc.ack(c.signer, ids);
      this.ledger.acked(ids, true);
    } catch (e) {
      this.ledger.acked(ids, false);
      this.ledger.error("ack", e);
      return -1;
    }
    return ids.length;
  }

  /** Runs every client's loop until `until` resolves or `ms` pass. */
  async run(ms: number, until?: Promise<unknown>): Promise<{ seconds: number }> {
    let stop = false;
    const timer = setTimeout(() => {
      stop = true;
    }, ms);
    void until?.finally(() => {
      stop = true;
    });
    const start = performance.now();
    await Promise.all(
      this.clients.map(async (_, i) => {
        while (!stop) {
          const ok = await this.deposit(i);
          const got = await this.fetch(i);
          if (!ok || got < 0) await sleep(BACKOFF_MS);
        }
      }),
    );
    clearTimeout(timer);
    return { seconds: (performance.now() - start) / 1000 };
  }

  /** Flushes every outbox, then empties every inbox; fails after `ms`. */
  async drain(ms = 60_000): Promise<void> {
    const deadline = Date.now() + ms;
    const check = () => {
      if (Date.now() > deadline) throw new Error("drain: the relay did not settle in time");
    };
    await Promise.all(
      this.clients.map(async (_, i) => {
        while (this.outbox[i]) {
          check();
          if (!(await this.deposit(i))) await sleep(BACKOFF_MS);
        }
      }),
    );
    await Promise.all(
      this.clients.map(async (_, i) => {
        for (;;) {
          check();
          const got = await this.fetch(i);
          if (got === 0) return;
          if (got < 0) await sleep(BACKOFF_MS);
        }
      }),
    );
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Prints a run's numbers and writes them to .ci/out/reliability/<name>.json. */
export async function report(name: string, data: Record<string, unknown>): Promise<void> {
  const dir = join(ROOT, ".ci", "out", "reliability");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${name}.json`), `${JSON.stringify(data, null, 2)}\n`);
  console.log(`[reliability] ${name}: ${JSON.stringify(data)}`);
}

/** The throughput figures of a run. */
export function throughput(ledger: Ledger, seconds: number, clients: LoadClient[] = []) {
  const c = ledger.count;
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    seconds: round(seconds),
    deposits: c.deposits,
    messagesFetched: c.messages,
    requests: c.requests,
    depositsPerSecond: round(c.deposits / seconds),
    fetchedPerSecond: round(c.messages / seconds),
    requestsPerSecond: round(c.requests / seconds),
    depositMsP50: round(percentile(ledger.depositMs, 50)),
    depositMsP99: round(percentile(ledger.depositMs, 99)),
    keepAliveRetries: clients.reduce((n, x) => n + x.retries, 0),
  };
}
