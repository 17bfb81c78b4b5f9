/**
 * Load clients for the reliability tests: each one is a user made the way the CLI makes
 * one (tests/relay/helpers.ts makeUser), talking to real relay processes through the
 * protocol's own RelayClient, so every request is signed exactly as the relay requires
 * (docs/protocol.md §13.3) and every receipt, checkpoint and proof it reads is verified.
 *
 * Each client has its own loopback source address (127.0.x.y) and its own keep-alive
 * agent: the relay's rate limits are per client IP, and 200 clients behind one address
 * would measure the rate limiter, not the relay.
 */
import http from "node:http";
import { randomBytes } from "../../protocol/bytes.js";
import { encodeEnvelope, envelopeId, sessionHeader } from "../../protocol/envelope.js";
import { Context } from "../../protocol/relay-api.js";
import { RelayClient, type RequestSigner } from "../../protocol/relay-client.js";
import { ed25519 } from "../../protocol/sign.js";
import { makeUser, type TestUser } from "../relay/helpers.js";

/** The i-th client's loopback source address: 127.0.1.1, 127.0.1.2, … (Linux routes 127/8 to lo). */
export function sourceAddress(i: number): string {
  return `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

/**
 * A `fetch` over node:http with one keep-alive agent. The whole body is read before the
 * Response is returned, so a connection cut mid-answer rejects (the RelayClient turns
 * that into RELAY_UNAVAILABLE, as it does for a refused connection).
 *
 * A request sent on a reused keep-alive socket that the server had just closed as idle
 * fails with ECONNRESET before the server read it. Node documents retrying exactly that
 * case once (`request.reusedSocket`); browsers and undici do the same. It happens here
 * when a starved test process sends its next request after the relay's 5 s idle timeout.
 * The retry carries the same signed bytes, so had the relay processed the first
 * attempt, the retry would be refused as a replay and counted as an error.
 */
export function agentFetch(agent: http.Agent, onRetry: () => void = () => {}): typeof fetch {
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const body = init.body ? Buffer.from(init.body as Uint8Array) : undefined;
      const send = (retried: boolean) => {
        const req = http.request(
          url,
          {
            method: init.method ?? "GET",
            headers: (init.headers ?? {}) as Record<string, string>,
            agent,
            ...(init.signal ? { signal: init.signal } : {}),
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("error", reject);
            res.on("close", () => {
              if (!res.complete) reject(new Error("the answer was cut off"));
            });
            res.on("end", () => {
              const status = res.statusCode ?? 0;
              const headers = new Headers();
              for (const [k, v] of Object.entries(res.headers))
                if (typeof v === "string") headers.set(k, v);
              const empty = status === 204 || status === 304;
              resolve(new Response(empty ? null : Buffer.concat(chunks), { status, headers }));
            });
          },
        );
        req.on("error", (e: NodeJS.ErrnoException) => {
          if (!retried && req.reusedSocket && e.code === "ECONNRESET") {
            onRetry();
            send(true);
          } else reject(e);
        });
        req.end(body);
      };
      send(false);
    });
}

/** A structurally valid session envelope with random content, as the relay sees any. */
export function envelope(bytes = 256): { envelope: Uint8Array; id: Uint8Array } {
  const ciphertext = randomBytes(bytes);
  const header = sessionHeader(
    {
      sessionId: randomBytes(8),
      ratchetKey: randomBytes(32),
      epoch: 0,
      previousLength: 0,
      n: 0,
      pqChain: false,
    },
    ciphertext.length,
  );
  const e = encodeEnvelope(header, ciphertext);
  return { envelope: e, id: envelopeId(e) };
}

export class LoadClient {
  readonly agent: http.Agent;
  readonly fetch: typeof fetch;
  readonly signer: RequestSigner;
  /** Requests sent again after a reused keep-alive socket was found closed. */
  retries = 0;
  /** One RelayClient per relay process: each pins the keys and the log it has seen. */
  private readonly relays = new Map<string, RelayClient>();

  constructor(
    readonly user: TestUser,
    readonly address: string,
  ) {
    // With a socket timeout set, the agent also honours the relay's "Keep-Alive:
    // timeout=5" hint and drops idle sockets a second before the relay would.
    this.agent = new http.Agent({
      keepAlive: true,
      maxSockets: 4,
      timeout: 60_000,
      localAddress: address,
    });
    this.fetch = agentFetch(this.agent, () => this.retries++);
    const seed = user.edSeed;
    this.signer = { name: user.name, sign: (body) => ed25519.sign(seed, Context.request, body) };
  }

  get name(): string {
    return this.user.name;
  }

  /** The RelayClient for the relay process at `url`. */
  at(url: string): RelayClient {
    let rc = this.relays.get(url);
    if (!rc) {
      rc = new RelayClient(url, { fetch: this.fetch, timeoutMs: 30_000 });
      this.relays.set(url, rc);
    }
    return rc;
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * `n` users whose bundles name `publicUrl`. Key generation and bundle signing take
 * about 20 ms a user (ML-DSA), so a test file makes its users once and every relay it
 * starts serves the same public URL, as relays behind one reverse proxy do.
 */
export async function makeUsers(n: number, publicUrl: string, prefix = "u"): Promise<TestUser[]> {
  const users: TestUser[] = [];
  for (let i = 0; i < n; i++) users.push(await makeUser(`${prefix}${i}`, publicUrl));
  return users;
}

/** Fresh clients (agents, pins) for these users; close them when the deployment ends. */
export function clientsFor(users: TestUser[]): LoadClient[] {
  return users.map((u, i) => new LoadClient(u, sourceAddress(i)));
}

/** Registers every client's bundle at `url`, a few at a time. */
export async function registerAll(clients: LoadClient[], url: string): Promise<void> {
  const queue = [...clients];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let c = queue.shift(); c; c = queue.shift())
        await c.at(url).register(c.user.bundle, c.name);
    }),
  );
}
