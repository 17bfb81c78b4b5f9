/**
 * Suite 5: scale. Deposit and inbox-fetch latency (one request at a time, through the
 * relay's Hono app in memory: every middleware, validation, signature and store call, no
 * socket) with 10k, 100k and 1M messages stored. Filler is bulk-loaded into the store
 * between steps (scale-fill.ts). Latency should stay flat: the indexes must be right.
 *
 * SQLite always; PostgreSQL when relay/storage/postgres.ts exists (being built).
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import postgres from "postgres";
import { createAccount } from "../protocol/account.js";
import { base64url } from "../protocol/bytes.js";
import { RelayClient } from "../protocol/relay-client.js";
import { createApp } from "../relay/app.js";
import { DEFAULTS, type RelayConfig } from "../relay/config.js";
import { RelaySigner } from "../relay/signer.js";
import { SqliteStore } from "../relay/storage/sqlite.js";
import type { RelayStore } from "../relay/storage/types.js";
import { seal, session } from "./parties.js";
import { formatNumber, type Row, type Section, type SuiteOptions, single } from "./report.js";
import { fill } from "./scale-fill.js";
import { fillPostgres } from "./scale-fill-pg.js";
import { signedHeaders } from "./signed.js";
import { latency } from "./stats.js";

const URL_ = "http://127.0.0.1:9";
const UNLIMITED = { windowMs: 60_000, limit: 1_000_000_000 };
const CONFIG: RelayConfig = {
  ...DEFAULTS,
  url: URL_,
  rateLimit: UNLIMITED,
  readRateLimit: UNLIMITED,
};
const INBOX = 50;
const POSTGRES = fileURLToPath(new URL("../relay/storage/postgres.ts", import.meta.url));
/** DESIGN §6: PostgreSQL on the development machines, trust auth, database `test`. */
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

type App = ReturnType<typeof createApp>["app"];

async function request(app: App, path: string, init: RequestInit, expect: number): Promise<void> {
  const r = await app.request(path, init);
  const text = await r.text();
  if (r.status !== expect) throw new Error(`${init.method ?? "GET"} ${path}: ${r.status} ${text}`);
}

const json = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

async function register(app: App, name: string) {
  const a = await createAccount(name, URL_, Date.now());
  await request(
    app,
    `/v1/directory/${name}`,
    { ...json({ bundle: base64url.encode(a.account.bundle) }), method: "PUT" },
    201,
  );
  return a;
}

/** Times `n` sequential deposits and `n` fetches of 50 at the store's current size. */
async function measure(
  app: App,
  signer: RelaySigner,
  step: string,
  n: number,
  envelope: Uint8Array,
) {
  let counter = 0;
  const deposit = (to: string) => {
    const e = envelope.slice();
    new DataView(e.buffer).setUint32(e.length - 4, counter++);
    new DataView(e.buffer).setUint32(e.length - 8, Date.now() % 2 ** 32);
    return json({ to, envelope: base64url.encode(e) });
  };
  await register(app, `probe${step}`);
  const reader = await register(app, `reader${step}`);
  // The reader's 50 messages go in at the current end of the log.
  for (let i = 0; i < INBOX; i++) await request(app, "/v1/messages", deposit(`reader${step}`), 201);
  const path = `/v1/inbox?limit=${INBOX}`;
  const headers = await signedHeaders({
    seed: reader.account.identitySeed.subarray(0, 32),
    relayKey: signer.edPublic,
    name: `reader${step}`,
    method: "GET",
    path,
    count: n + 1,
  });
  const deposits: number[] = [];
  const fetches: number[] = [];
  // Warm-up: the first fetch signs a checkpoint covering the new messages (ML-DSA, once).
  await request(app, path, { headers: headers[n]! }, 200);
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    await request(app, "/v1/messages", deposit(`probe${step}`), 201);
    deposits.push(performance.now() - t);
    t = performance.now();
    await request(app, path, { headers: headers[i]! }, 200);
    fetches.push(performance.now() - t);
  }
  // What was served verifies as a client checks it (checkpoint, receipts, inclusion
  // proofs), so the bulk-loaded log is a genuine tree.
  const client = new RelayClient(URL_, {
    fetch: async (input, init) => app.request(String(input), init),
  });
  const signer2 = {
    name: `reader${step}`,
    sign: (b: Uint8Array) => reader.signer.signEd25519("request", b),
  };
  const check = await client.fetchInbox(signer2);
  if (check.messages.length === 0 || check.rejected.length > 0)
    throw new Error(`scale ${step}: the relay's answers do not verify`);
  return { deposit: latency(deposits), fetch: latency(fetches) };
}

function label(n: number): string {
  return n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n);
}

interface Backend {
  name: string;
  /** Bulk-loads up to `target` messages; the store is closed meanwhile if it must be. */
  fill(target: number): Promise<number>;
  open(): Promise<RelayStore>;
  /** Whether `open` returns a new store each step (closed after it) or one shared store. */
  reopen: boolean;
  dispose(): Promise<void>;
}

async function sqliteBackend(envelope: Uint8Array): Promise<Backend> {
  const dir = await mkdtemp(join(tmpdir(), "secure-msg-bench-scale-"));
  const path = join(dir, "relay.db");
  await SqliteStore.open(path).close(); // creates the schema
  return {
    name: "SQLite",
    fill: async (target) => fill(path, target, envelope, Date.now()),
    open: async () => SqliteStore.open(path),
    reopen: true,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/** PostgreSQL in a schema of its own, dropped afterwards; undefined if it cannot run here. */
async function postgresBackend(
  envelope: Uint8Array,
  log: (s: string) => void,
): Promise<Backend | undefined> {
  if (!existsSync(POSTGRES)) return undefined;
  const { PostgresStore } = (await import(pathToFileURL(POSTGRES).href)) as {
    PostgresStore: { open(url: string, o?: { schema?: string }): Promise<RelayStore> };
  };
  const schema = `bench_scale_${process.pid}`;
  let store: RelayStore;
  try {
    store = await PostgresStore.open(DATABASE_URL, { schema });
  } catch (e) {
    log(`scale: PostgreSQL unavailable (${(e as Error).message})`);
    return undefined;
  }
  const sql = postgres(DATABASE_URL, {
    onnotice: () => undefined,
    connection: { search_path: schema },
  });
  return {
    name: "PostgreSQL",
    fill: (target) => fillPostgres(sql, target, envelope, Date.now()),
    open: async () => store,
    reopen: false,
    async dispose() {
      await store.close();
      await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await sql.end({ timeout: 5 });
    },
  };
}

async function run(
  o: SuiteOptions,
  b: Backend,
  sizes: number[],
  n: number,
  envelope: Uint8Array,
): Promise<Row[]> {
  const signer = await RelaySigner.generate();
  const rows: Row[] = [];
  const p50s: { deposit: number[]; fetch: number[] } = { deposit: [], fetch: [] };
  try {
    for (const size of sizes) {
      const t = performance.now();
      const added = await b.fill(size);
      o.log(
        `scale: ${b.name} ${label(size)} (+${added} in ${Math.round(performance.now() - t)} ms)`,
      );
      const store = await b.open();
      try {
        const { app } = createApp({ store, signer, config: CONFIG });
        const m = await measure(app, signer, `${b.name}${label(size)}`.toLowerCase(), n, envelope);
        p50s.deposit.push(m.deposit.p50);
        p50s.fetch.push(m.fetch.p50);
        for (const [what, l] of [
          ["deposit", m.deposit],
          ["inbox fetch of 50", m.fetch],
        ] as const) {
          rows.push({
            measure: `${b.name}, ${label(size)} stored: ${what}, p50 (p99)`,
            unit: "ms",
            ours: single(l.p50),
            detail: `p99 ${formatNumber(l.p99)} ms`,
          });
        }
      } finally {
        if (b.reopen) await store.close();
      }
    }
  } finally {
    await b.dispose();
  }
  for (const what of ["deposit", "fetch"] as const) {
    const growth = p50s[what].at(-1)! / p50s[what][0]!;
    rows.push({
      measure: `${b.name} ${what} p50, ${label(sizes.at(-1)!)} over ${label(sizes[0]!)}`,
      unit: "×",
      ours: single(growth),
      goal: "flat (≤ 1.5×)",
      met: growth <= 1.5,
    });
  }
  return rows;
}

export async function scale(o: SuiteOptions): Promise<Section> {
  const sizes = o.quick ? [1_000, 5_000] : [10_000, 100_000, 1_000_000];
  const n = o.quick ? 10 : 100;
  // A real known-pair message of 100 B of text: the filler's and the probes' shape.
  const s = await session();
  const envelope = await seal(s.a, "f".repeat(100));
  const rows = await run(o, await sqliteBackend(envelope), sizes, n, envelope);
  const pg = await postgresBackend(envelope, o.log);
  if (pg) rows.push(...(await run(o, pg, sizes, n, envelope)));
  const notes = [
    `${n} sequential deposits and ${n} fetches of ${INBOX} per step, through the relay's Hono app in memory (\`app.request\`: middleware, validation, signatures and the store, no socket). Cells show the p50, with the p99 in brackets.`,
    "Filler: real-size 100 B known-pair envelopes over 1,000 mailboxes, bulk-loaded with their Merkle log nodes (bench/scale-fill.ts); the measured mailboxes are fresh at each step, and their 50 messages sit at the end of the log.",
  ];
  if (pg) {
    notes.push(
      `PostgreSQL: ${DATABASE_URL.replace(/\/\/[^@/]*@/, "//")} in a schema of its own (dropped afterwards), filled in set-based SQL (bench/scale-fill-pg.ts).`,
    );
  } else {
    notes.push(
      "PostgreSQL was not measured: relay/storage/postgres.ts is missing or the database is unreachable (set BENCH_DATABASE_URL).",
    );
  }
  return {
    id: "scale",
    title: "Scale: latency with many stored messages",
    competitor: "",
    rows,
    notes,
  };
}
