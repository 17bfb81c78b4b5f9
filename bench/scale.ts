/**
 * Suite 5: scale. Deposit and inbox-fetch latency (one request at a time, through the
 * relay's Hono app in memory: every middleware, validation, signature and store call, no
 * socket) with 10k, 100k and 1M messages stored. Latency should stay flat: the indexes
 * must be right. The sizes are separate stores, filled first (scale-stores.ts), then
 * measured in alternation: a few requests at 10k, at 100k, at 1M, at 10k again, …
 *
 * SQLite always; PostgreSQL when relay/storage/postgres.ts exists and the database answers.
 */
import { createAccount } from "../protocol/account.js";
import { base64url } from "../protocol/bytes.js";
import { RelayClient } from "../protocol/relay-client.js";
import { createApp } from "../relay/app.js";
import { DEFAULTS, type RelayConfig } from "../relay/config.js";
import { RelaySigner } from "../relay/signer.js";
import { seal, session } from "./parties.js";
import { formatNumber, type Row, type Section, type SuiteOptions, single } from "./report.js";
import {
  type Backend,
  DATABASE_URL,
  type Filled,
  postgresBackend,
  sqliteBackend,
} from "./scale-stores.js";
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
const INBOX_PATH = `/v1/inbox?limit=${INBOX}`;

type App = ReturnType<typeof createApp>["app"];

async function request(app: App, path: string, init: RequestInit, expect: number): Promise<void> {
  const r = await app.request(path, init);
  const text = await r.text();
  if (r.status !== expect) throw new Error(`${init.method ?? "GET"} ${path}: ${r.status} ${text}`);
}

const json = (body: unknown, method = "POST"): RequestInit => ({
  method,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

function label(n: number): string {
  return n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n);
}

/** One size under test: its app, a mailbox to deposit to, a reader with 50 messages. */
async function prepare(f: Filled, signer: RelaySigner, envelope: Uint8Array, n: number) {
  const { app } = createApp({ store: f.store, signer, config: CONFIG });
  const register = async (name: string) => {
    const a = await createAccount(name, URL_, Date.now());
    await request(
      app,
      `/v1/directory/${name}`,
      json({ bundle: base64url.encode(a.account.bundle) }, "PUT"),
      201,
    );
    return a;
  };
  let counter = 0;
  const deposit = (to: string) => {
    const e = envelope.slice();
    new DataView(e.buffer).setUint32(e.length - 4, counter++);
    new DataView(e.buffer).setUint32(e.length - 8, Date.now() % 2 ** 32);
    return json({ to, envelope: base64url.encode(e) });
  };
  await register("probe");
  const reader = await register("reader");
  // The reader's 50 messages go in at the end of the log, after the filler.
  for (let i = 0; i < INBOX; i++) await request(app, "/v1/messages", deposit("reader"), 201);
  const headers = signedHeaders({
    seed: reader.account.identitySeed.subarray(0, 32),
    relayKey: signer.edPublic,
    name: "reader",
    method: "GET",
    path: INBOX_PATH,
    count: n + 1,
  });
  // Warm-up: the first fetch signs a checkpoint covering the new messages (ML-DSA, once).
  await request(app, INBOX_PATH, { headers: headers[n]! }, 200);
  let next = 0;
  const times = { deposit: [] as number[], fetch: [] as number[] };
  return {
    size: f.size,
    times,
    async once() {
      let t = performance.now();
      await request(app, "/v1/messages", deposit("probe"), 201);
      times.deposit.push(performance.now() - t);
      t = performance.now();
      await request(app, INBOX_PATH, { headers: headers[next++]! }, 200);
      times.fetch.push(performance.now() - t);
    },
    /** What was served verifies as a client checks it: the bulk-loaded log is a genuine tree. */
    async verify() {
      const client = new RelayClient(URL_, {
        fetch: async (input, init) => app.request(String(input), init),
      });
      const check = await client.fetchInbox({
        name: "reader",
        sign: (b) => reader.signer.signEd25519("request", b),
      });
      if (check.messages.length === 0 || check.rejected.length > 0)
        throw new Error(`scale ${label(f.size)}: the relay's answers do not verify`);
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
  const rounds = o.quick ? 1 : 5;
  const rows: Row[] = [];
  try {
    const steps: Awaited<ReturnType<typeof prepare>>[] = [];
    for (const size of sizes) {
      const t = performance.now();
      const f = await b.filled(size, envelope);
      o.log(`scale: ${b.name} ${label(size)} filled in ${Math.round(performance.now() - t)} ms`);
      steps.push(await prepare(f, signer, envelope, n));
    }
    for (let r = 0; r < rounds; r++)
      for (const s of steps) for (let i = 0; i < n / rounds; i++) await s.once();
    for (const s of steps) await s.verify();
    const p50 = (what: "deposit" | "fetch") => steps.map((s) => latency(s.times[what]).p50);
    for (const s of steps) {
      for (const [what, ms] of [
        ["deposit", s.times.deposit],
        ["inbox fetch of 50", s.times.fetch],
      ] as const) {
        const l = latency(ms);
        rows.push({
          measure: `${b.name}, ${label(s.size)} stored: ${what}, p50 (p99)`,
          unit: "ms",
          ours: single(l.p50),
          detail: `p99 ${formatNumber(l.p99)} ms`,
        });
      }
    }
    for (const what of ["deposit", "fetch"] as const) {
      const growth = p50(what).at(-1)! / p50(what)[0]!;
      rows.push({
        measure: `${b.name} ${what} p50, ${label(sizes.at(-1)!)} over ${label(sizes[0]!)}`,
        unit: "×",
        ours: single(growth),
        goal: "flat (≤ 1.5×)",
        met: growth <= 1.5,
      });
    }
  } finally {
    await b.dispose();
  }
  return rows;
}

export async function scale(o: SuiteOptions): Promise<Section> {
  const sizes = o.quick ? [1_000, 5_000] : [10_000, 100_000, 1_000_000];
  const n = o.quick ? 10 : 100;
  // A real known-pair message of 100 B of text: the filler's and the probes' shape.
  const s = await session();
  const envelope = await seal(s.a, "f".repeat(100));
  const rows = await run(o, await sqliteBackend(), sizes, n, envelope);
  const pg = await postgresBackend(o.log);
  if (pg) rows.push(...(await run(o, pg, sizes, n, envelope)));
  const notes = [
    `${n} sequential deposits and ${n} fetches of ${INBOX} per size, through the relay's Hono app in memory (\`app.request\`: middleware, validation, signatures and the store, no socket), alternating between sizes in ${o.quick ? 1 : 5} rounds. Cells show the p50, with the p99 in brackets.`,
    "Each size is its own store, filled before any is measured: real-size 100 B known-pair envelopes over 1,000 mailboxes, bulk-loaded with their Merkle log nodes (bench/scale-fill*.ts). The measured mailboxes are fresh; the reader's 50 messages sit at the end of the log, and one fetch per size is verified as a client does (checkpoint, receipts, proofs).",
    pg
      ? `PostgreSQL: ${DATABASE_URL.replace(/\/\/[^@/]*@/, "//")}, one schema per size (dropped afterwards), each store with its default connection pool.`
      : "PostgreSQL was not measured: relay/storage/postgres.ts is missing or the database is unreachable (set BENCH_DATABASE_URL).",
  ];
  return {
    id: "scale",
    title: "Scale: latency with many stored messages",
    competitor: "",
    rows,
    notes,
  };
}
