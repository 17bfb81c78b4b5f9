/**
 * The sockets the PostgreSQL store's connections use: a backoff in front of postgres.js's
 * own connecting, so that an outage gives 503s within about a second and a bounded
 * trickle of connection attempts, and the relay recovers by itself when the database is
 * back.
 *
 * Why: postgres.js retries a connection that the server (or a proxy or pooler in front of
 * it) closes during startup at once and without end, restarting its connect timeout each
 * time, so a query waits forever while the client opens hundreds of connections a second.
 * Here a connection that closes before the server said anything is an error, which the
 * waiting query fails with; and after a failed attempt the next one waits a backoff
 * (RETRY_MIN_MS doubling up to `maxDelayMs`) before it connects. The first answer from
 * the server resets the backoff.
 */
import { connect as netConnect, type Socket } from "node:net";

const RETRY_MIN_MS = 50;

interface SocketOptions {
  host: string[];
  port: number[];
  path?: string | false;
}

export interface SocketGuard {
  /** For postgres.js's `socket` option. */
  socket: (o: SocketOptions) => Promise<Socket>;
  /** Ms until the next connection attempt is due; 0 when the database last answered. */
  retryIn(): number;
}

/** One backoff per driver instance. */
export function guardSockets(maxDelayMs: number): SocketGuard {
  let failures = 0;
  let notBefore = 0;
  let next = 0;
  const retryIn = () => Math.max(0, Math.ceil(notBefore - Date.now()));
  const socket = async (o: SocketOptions): Promise<Socket> => {
    const wait = notBefore - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    // Several hosts (postgres://h1,h2/db): try them in turn.
    const i = next++ % Math.max(1, o.host.length);
    const sock = o.path ? netConnect(o.path) : netConnect(o.port[i] ?? o.port[0]!, o.host[i]!);
    let answered = false;
    let failed = false;
    // Recorded on the first sign of failure, before the driver (whose handlers come after
    // these) fails the waiting query, so that the store's next call sees the backoff.
    const fail = () => {
      if (answered || failed) return;
      failed = true;
      failures = Math.min(failures + 1, 16);
      const backoff = Math.min(maxDelayMs, RETRY_MIN_MS * 2 ** (failures - 1));
      // Jitter, so that processes cut off together do not come back in step.
      notBefore = Date.now() + backoff * (0.5 + Math.random() / 2);
    };
    // The driver adds its own handlers once this resolves; none may be missing before.
    sock.on("error", fail);
    sock.once("data", () => {
      answered = true;
      failures = 0;
      notBefore = 0;
    });
    sock.once("end", () => {
      if (answered) return;
      fail();
      sock.destroy(
        Object.assign(new Error("the database closed the connection while opening"), {
          code: "ECONNRESET",
        }),
      );
    });
    sock.once("close", fail);
    return sock;
  };
  return { socket, retryIn };
}
