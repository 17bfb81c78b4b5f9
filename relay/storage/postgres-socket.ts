/**
 * The sockets the PostgreSQL store's connections use: a circuit breaker in front of
 * postgres.js's own connecting, so that an outage gives fast 503s and a bounded trickle
 * of connection attempts, and the relay recovers by itself when the database is back.
 *
 * Why: postgres.js retries a connection that the server (or a proxy or pooler in front of
 * it) closes during startup at once and without end, restarting its connect timeout each
 * time, so a query waits forever while the client opens hundreds of connections a second.
 * Here a connection that closes before the server said anything is an error the waiting
 * query fails with, and after a failed attempt the next ones fail at once, without
 * connecting, until a backoff (RETRY_MIN_MS doubling to RETRY_MAX_MS) has passed. The
 * first answer from the server closes the circuit again.
 */
import { connect as netConnect, Socket } from "node:net";

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

interface SocketOptions {
  host: string[];
  port: number[];
  path?: string | false;
}

function failure(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** A socket factory for postgres.js's `socket` option; one breaker per driver instance. */
export function guardedSocket(): (o: SocketOptions) => Promise<Socket> {
  let failures = 0;
  let openUntil = 0;
  let next = 0;
  return async (o) => {
    const now = Date.now();
    if (now < openUntil) {
      // Fails like a refused connection: the waiting query is rejected (a 503).
      const socket = new Socket();
      socket.on("error", () => undefined);
      const wait = openUntil - now;
      process.nextTick(() =>
        socket.destroy(
          failure("ECONNREFUSED", `the database was unreachable; next attempt in ${wait} ms`),
        ),
      );
      return socket;
    }
    // Several hosts (postgres://h1,h2/db): try them in turn.
    const i = next++ % Math.max(1, o.host.length);
    const socket = o.path ? netConnect(o.path) : netConnect(o.port[i] ?? o.port[0]!, o.host[i]!);
    // The driver adds its own handlers once this resolves; none may be missing before.
    socket.on("error", () => undefined);
    let answered = false;
    socket.once("data", () => {
      answered = true;
      failures = 0;
      openUntil = 0;
    });
    socket.once("end", () => {
      if (!answered)
        socket.destroy(failure("ECONNRESET", "the database closed the connection while opening"));
    });
    socket.once("close", () => {
      if (answered) return;
      failures = Math.min(failures + 1, 16);
      const backoff = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (failures - 1));
      openUntil = Date.now() + backoff * (0.5 + Math.random() / 2);
    });
    return socket;
  };
}
