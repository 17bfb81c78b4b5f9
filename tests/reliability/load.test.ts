/**
 * Load (issue 5): 200 concurrent clients deposit and fetch for 30 s against one relay
 * process on SQLite, and against two relay processes sharing a PostgreSQL database
 * (deposits at one process, fetches at the other). Zero errors of any kind, and zero
 * lost messages: every acknowledged deposit is fetched exactly once, by its recipient,
 * with a receipt, checkpoint and inclusion proof that verify. The throughput is printed
 * and written to .ci/out/reliability/load-<backend>.json.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { killAll } from "../integration/helpers.js";
import type { TestUser } from "../relay/helpers.js";
import { clientsFor, makeUsers, registerAll } from "./clients.js";
import { freePort, type Launcher, postgresLauncher, sqliteLauncher } from "./deployments.js";
import { Driver, report, throughput } from "./driver.js";
import { Ledger } from "./ledger.js";
import { metricSum, serverErrors } from "./metrics.js";
import { PgCluster, skipPostgres } from "./pg-cluster.js";

const CLIENTS = 200;
const SECONDS = 30;

let root: string;
let publicUrl: string;
let users: TestUser[];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "secure-msg-load-"));
  publicUrl = `http://127.0.0.1:${await freePort()}`;
  users = await makeUsers(CLIENTS, publicUrl);
}, 120_000);

afterAll(async () => {
  killAll();
  await PgCluster.removeAll();
  await rm(root, { recursive: true, force: true });
});

async function loadTest(launcher: Launcher, processes: number): Promise<void> {
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
    const { seconds } = await driver.run(SECONDS * 1000);
    const numbers = throughput(ledger, seconds, clients);
    await driver.drain();
    const audit = ledger.audit();
    let stored = 0;
    const fiveHundreds = [];
    for (const url of d.urls) {
      stored += await metricSum(url, "secure_msg_relay_deposits_total");
      fiveHundreds.push(...(await serverErrors(url)));
    }
    const logSize = await metricSum(d.urls[0]!, "secure_msg_relay_log_size");
    await report(`load-${launcher.backend}`, {
      backend: launcher.backend,
      processes,
      clients: CLIENTS,
      ...numbers,
      acknowledged: audit.acknowledged,
      lost: audit.lost.length,
      errors: Object.fromEntries(ledger.errors),
    });

    // No error of any kind, on either side.
    expect({ errors: Object.fromEntries(ledger.errors), samples: ledger.samples }).toEqual({
      errors: {},
      samples: [],
    });
    expect(fiveHundreds).toEqual([]);
    expect(d.errorLogs()).toEqual([]);
    // Every client took part, and every deposit was acknowledged once, as stored.
    expect(Math.min(...driver.acknowledged)).toBeGreaterThan(0);
    expect(audit.unacknowledged).toBe(0);
    expect(ledger.count.duplicates).toBe(0);
    expect(stored).toBe(audit.acknowledged);
    expect(logSize).toBe(CLIENTS + audit.acknowledged);
    // Nothing lost, nothing invented, nothing to the wrong mailbox, nothing twice.
    expect(audit.lost).toEqual([]);
    expect(audit.phantom).toEqual([]);
    expect(audit.misdelivered).toEqual([]);
    expect(audit.redelivered).toEqual([]);
    expect(audit.refetched).toBe(0);
    expect(ledger.count.messages).toBe(audit.acknowledged);
    stopped = true;
    expect(await d.stop()).toBe(true);
  } finally {
    for (const c of clients) c.close();
    if (!stopped) await d.stop();
  }
}

it(
  `SQLite: ${CLIENTS} clients for ${SECONDS} s against one relay process lose nothing`,
  () => loadTest(sqliteLauncher(join(root, "sqlite")), 1),
  240_000,
);

it.skipIf(skipPostgres() !== undefined)(
  `PostgreSQL: ${CLIENTS} clients for ${SECONDS} s against two relay processes lose nothing`,
  async () => {
    const cluster = await PgCluster.create();
    try {
      await loadTest(postgresLauncher(join(root, "postgres"), cluster.url), 2);
    } finally {
      await cluster.remove();
    }
  },
  240_000,
);
