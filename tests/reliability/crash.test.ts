/**
 * Crashes under load (issue 5). 200 clients deposit and fetch while:
 * - the relay process on SQLite is killed with SIGKILL five times and restarted on the
 *   same data folder and port;
 * - one of two relay processes on PostgreSQL is killed five times and restarted;
 * - the PostgreSQL server itself crashes (immediate shutdown) and comes back, and the
 *   relay processes, never restarted, recover by themselves.
 * Clients keep unacknowledged deposits in an outbox and retry them with the same
 * envelope, and deduplicate what they fetch by message id, as the protocol Client does.
 * Afterwards:
 * - every deposit was acknowledged in the end, and every acknowledged deposit was
 *   fetched by its recipient, and by nobody else;
 * - a message came back after a confirmed acknowledgement only when its sender had
 *   re-sent it (a deposit whose answer was lost; the relay stores it again once the
 *   first copy is gone), and the client drops it by id;
 * - the log holds one leaf per registration and per deposit the relay stored;
 * - the only errors clients saw were RELAY_UNAVAILABLE: never a receipt, checkpoint or
 *   proof that failed to verify, never a log that forked, never a refused request.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { killAll } from "../integration/helpers.js";
import type { TestUser } from "../relay/helpers.js";
import { clientsFor, makeUsers, registerAll } from "./clients.js";
import {
  type Deployment,
  freePort,
  type Launcher,
  postgresLauncher,
  sqliteLauncher,
} from "./deployments.js";
import { Driver, report, throughput } from "./driver.js";
import { Ledger } from "./ledger.js";
import { metricSum } from "./metrics.js";
import { PgCluster, skipPostgres } from "./pg-cluster.js";

const CLIENTS = 200;
const FAULTS = 5;
/** Load runs at least this long between two faults, and until this many more acks. */
const BETWEEN_MS = 2_000;
const BETWEEN_ACKS = 50;
/** A relay that acknowledges no more deposits for this long after a repair has not recovered. */
const STALL_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let root: string;
let publicUrl: string;
let users: TestUser[];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "secure-msg-crash-load-"));
  publicUrl = `http://127.0.0.1:${await freePort()}`;
  users = await makeUsers(CLIENTS, publicUrl);
}, 120_000);

afterAll(async () => {
  killAll();
  await PgCluster.removeAll();
  await rm(root, { recursive: true, force: true });
});

/** One fault and its repair, injected while the load runs. */
type Fault = (d: Deployment, n: number) => Promise<void>;

const killRelay: Fault = async (d, n) => {
  const i = n % d.urls.length;
  await d.kill(i);
  await sleep(200);
  await d.restart(i);
};

async function crashTest(name: string, launcher: Launcher, processes: number, fault: Fault) {
  const d = await launcher.start(publicUrl, processes);
  const clients = clientsFor(users);
  let stopped = false;
  try {
    await registerAll(clients, d.urls[0]!);
    const ledger = new Ledger();
    const routes = {
      deposit: (i: number) => d.urls[i % processes]!,
      fetch: (i: number) => d.urls[(i + 1) % processes]!,
    };
    const driver = new Driver(clients, routes, ledger);
    /** Deposits acknowledged between faults, and how long each repair took to show. */
    const ackedBetween: number[] = [];
    const recoveryMs: number[] = [];
    /** Waits for load to run BETWEEN_MS and BETWEEN_ACKS more acks; fails if it stalls. */
    const loadRuns = async (after: string) => {
      const from = ledger.count.deposits;
      const since = Date.now();
      let first: number | undefined;
      while (Date.now() - since < BETWEEN_MS || ledger.count.deposits - from < BETWEEN_ACKS) {
        if (first === undefined && ledger.count.deposits > from) first = Date.now() - since;
        if (Date.now() - since > STALL_MS)
          throw new Error(
            `${after}: ${ledger.count.deposits - from} deposits acknowledged in ${STALL_MS} ms; clients saw ${JSON.stringify(Object.fromEntries(ledger.errors))}\n${d.describe()}`,
          );
        await sleep(50);
      }
      recoveryMs.push(first ?? 0);
      ackedBetween.push(ledger.count.deposits - from);
    };
    const faults = (async () => {
      await loadRuns("before the first fault");
      for (let n = 0; n < FAULTS; n++) {
        await fault(d, n);
        await loadRuns(`after fault ${n + 1}`);
      }
    })();
    const { seconds } = await driver.run(
      240_000,
      faults.catch(() => undefined),
    );
    await faults;
    const numbers = throughput(ledger, seconds, clients);
    await driver.drain(90_000).catch((e: Error) => {
      throw new Error(
        `${e.message}; clients saw ${JSON.stringify(Object.fromEntries(ledger.errors))}; last: ${ledger.samples.slice(-3).join(" | ")}\n${d.describe()}\n${d.errorLogs().slice(-3).join("\n")}`,
      );
    });
    const audit = ledger.audit();
    const logSize = await metricSum(d.urls[0]!, "secure_msg_relay_log_size");
    await report(`crash-${name}`, {
      backend: launcher.backend,
      processes,
      clients: CLIENTS,
      faults: FAULTS,
      ackedBetweenFaults: ackedBetween,
      firstAckAfterRepairMs: recoveryMs.slice(1),
      duplicateDeposits: ledger.count.duplicates,
      resent: ledger.resentCount,
      ...numbers,
      acknowledged: audit.acknowledged,
      refetched: audit.refetched,
      errors: Object.fromEntries(ledger.errors),
    });

    // The faults hit a working relay each time, and the clients felt them.
    expect(ackedBetween).toHaveLength(FAULTS + 1);
    expect(ledger.errorCount((k) => k.endsWith(":RELAY_UNAVAILABLE"))).toBeGreaterThan(0);
    // …as unavailability only: nothing failed to verify, nothing was refused.
    const unexpected = [...ledger.errors].filter(([k]) => !k.endsWith(":RELAY_UNAVAILABLE"));
    expect({
      unexpected,
      samples: ledger.samples.filter((s) => !/RELAY_UNAVAILABLE/.test(s)),
    }).toEqual({ unexpected: [], samples: [] });
    // Every deposit was acknowledged in the end, and each is fetched by its recipient.
    expect(audit.unacknowledged).toBe(0);
    expect(audit.lost).toEqual([]);
    expect(audit.phantom).toEqual([]);
    expect(audit.misdelivered).toEqual([]);
    expect(audit.redelivered).toEqual([]);
    // One log leaf per registration and per stored deposit: at least one for each
    // deposit answered "stored", at most one more for each deposit left unanswered.
    const unanswered = ledger.errorCount((k) => k.startsWith("deposit:"));
    expect(logSize).toBeGreaterThanOrEqual(CLIENTS + ledger.stored);
    expect(logSize).toBeLessThanOrEqual(CLIENTS + ledger.stored + unanswered);
    stopped = true;
    expect(await d.stop()).toBe(true);
  } finally {
    for (const c of clients) c.close();
    if (!stopped) await d.stop();
  }
}

it(
  "SQLite: the relay killed with SIGKILL five times under load loses nothing",
  () => crashTest("sqlite-kill", sqliteLauncher(join(root, "sqlite")), 1, killRelay),
  300_000,
);

const skipPg = skipPostgres() !== undefined;

it.skipIf(skipPg)(
  "PostgreSQL: relay processes killed with SIGKILL five times under load lose nothing",
  async () => {
    const cluster = await PgCluster.create();
    try {
      await crashTest(
        "postgres-kill",
        postgresLauncher(join(root, "pg-kill"), cluster.url),
        2,
        killRelay,
      );
    } finally {
      await cluster.remove();
    }
  },
  300_000,
);

it.skipIf(skipPg)(
  "PostgreSQL: the database crashes under load and the relays recover by themselves",
  async () => {
    const cluster = await PgCluster.create();
    const restartDatabase: Fault = async () => {
      await cluster.stop("immediate");
      await sleep(1_000);
      await cluster.start();
    };
    try {
      await crashTest(
        "postgres-restart",
        postgresLauncher(join(root, "pg-restart"), cluster.url),
        2,
        restartDatabase,
      );
    } finally {
      await cluster.remove();
    }
  },
  300_000,
);
