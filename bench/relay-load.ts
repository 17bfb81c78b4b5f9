/**
 * The load process for the relay suite: runs autocannon (programmatic API) against one
 * server from a process of its own, and prints a one-line JSON summary. The job comes as
 * JSON in argv[2] (relay.ts builds it).
 *
 * - echo, deposit: POST the same JSON body `{to, envelope}`; every request gets a distinct
 *   envelope (a counter written into the last bytes of the AEAD tag: the relay checks
 *   structure only, and a repeated envelope would be answered as a duplicate).
 * - fetch: GET /v1/inbox?limit=N, each request signed with a fresh nonce beforehand
 *   (the relay refuses a replayed nonce), so signing costs nothing during the run.
 */
import { createInterface } from "node:readline";
import autocannon from "autocannon";
import { base64url } from "../protocol/bytes.js";
import { signedHeaders } from "./signed.js";

export interface LoadJob {
  url: string;
  kind: "echo" | "deposit" | "fetch";
  connections: number;
  seconds: number;
  /** Template envelope, base64url (echo, deposit). */
  envelope?: string;
  /** Mailboxes to deposit to, round robin (deposit; echo sends the same shape). */
  to?: string[];
  /** The inbox owner and how many signed requests to prepare (fetch). */
  reader?: { name: string; seed: string; relayKey: string; limit: number; requests: number };
}

export interface LoadResult {
  kind: string;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** More requests were sent than signed (fetch): nonces were replayed, the run is void. */
  exhausted?: boolean;
}

function bodies(job: LoadJob): () => string {
  const template = base64url.decode(job.envelope!);
  const to = job.to!;
  let i = 0;
  return () => {
    const e = template.slice();
    new DataView(e.buffer).setUint32(e.length - 4, i);
    new DataView(e.buffer).setUint32(e.length - 8, process.pid);
    const body = JSON.stringify({ to: to[i % to.length], envelope: base64url.encode(e) });
    i++;
    return body;
  };
}

async function run(job: LoadJob): Promise<LoadResult> {
  const base = { connections: job.connections, duration: job.seconds };
  let opts: autocannon.Options;
  let exhausted = () => false;
  if (job.kind === "fetch") {
    const path = `/v1/inbox?limit=${job.reader!.limit}`;
    const r = job.reader!;
    const pool = signedHeaders({
      seed: base64url.decode(r.seed),
      relayKey: base64url.decode(r.relayKey),
      name: r.name,
      method: "GET",
      path,
      count: r.requests,
    });
    let next = 0;
    exhausted = () => next > pool.length;
    opts = {
      ...base,
      url: job.url + path,
      requests: [
        {
          method: "GET",
          setupRequest: (req) => ({
            ...req,
            headers: { ...req.headers, ...pool[next++ % pool.length] },
          }),
        },
      ],
    };
  } else {
    const body = bodies(job);
    opts = {
      ...base,
      url: job.url + (job.kind === "echo" ? "/echo" : "/v1/messages"),
      requests: [
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          setupRequest: (req) => ({ ...req, body: body() }),
        },
      ],
    };
  }
  const r = await autocannon(opts);
  return {
    kind: job.kind,
    connections: job.connections,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    ok: r["2xx"],
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    ...(exhausted() ? { exhausted: true } : {}),
  };
}

// One job per stdin line, one result per stdout line, until stdin closes.
for await (const line of createInterface({ input: process.stdin })) {
  process.stdout.write(`${JSON.stringify(await run(JSON.parse(line) as LoadJob))}\n`);
}
