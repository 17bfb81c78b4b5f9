/**
 * Connecting the PostgreSQL store (DESIGN §4): the driver options (postgres.js) for the
 * pool and for the LISTEN connection, and which failures mean "the database cannot serve
 * right now" (StoreUnavailable, a 503) rather than a bug. The URL and its `?schema=`:
 * postgres-url.ts.
 */
import { connect as netConnect, type Socket } from "node:net";
import postgres from "postgres";
import { StoreUnavailable } from "./errors.js";
import { checkSchema, parseDatabaseUrl } from "./postgres-url.js";

export interface PostgresOptions {
  /** Schema holding the relay's tables (default: the URL's `?schema=`, else `public`). */
  schema?: string;
  /** Connections in the pool (default 10), plus one that LISTENs. */
  poolSize?: number;
  /** How long a statement waits for a lock (the log's append lock) before failing (default 5000). */
  lockTimeoutMs?: number;
  /** How long opening a connection may take before the request fails with a 503 (default 5000). */
  connectTimeoutMs?: number;
}

export interface Connection {
  sql: postgres.Sql;
  schema: string;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer`);
  return value;
}

/**
 * Opens the LISTEN connection's sockets, waiting longer and longer between attempts that
 * come close together (up to 5 s). postgres.js retries a connection that closes while it
 * starts up without any delay, which against a database that is down or starting up
 * means hundreds of attempts a second for as long as the outage lasts.
 */
function throttledSocket() {
  let last = 0;
  let streak = 0;
  return async (o: { host: string[]; port: number[]; path?: string | false }): Promise<Socket> => {
    if (Date.now() - last > 10_000) streak = 0;
    const wait = streak === 0 ? 0 : Math.min(5000, 50 * 2 ** streak) * (0.5 + Math.random() / 2);
    streak = Math.min(streak + 1, 16);
    await new Promise((resolve) => setTimeout(resolve, wait));
    last = Date.now();
    const socket = o.path ? netConnect(o.path) : netConnect(o.port[0]!, o.host[0]!);
    // The driver adds its own handlers once this resolves; none may be missing before.
    socket.on("error", () => undefined);
    return socket;
  };
}

/** What the LISTEN connection (postgres-notify.ts) sets apart from the pool's settings. */
export interface ListenerHooks {
  onnotify: (channel: string, payload: string) => void;
  onclose: () => void;
}

/**
 * A driver instance for `url`: lazy, so nothing connects until the first query. With
 * `hooks`, one long-lived connection for LISTEN instead of a pool.
 */
export function connect(
  url: string,
  options: PostgresOptions = {},
  hooks?: ListenerHooks,
): Connection {
  const parsed = parseDatabaseUrl(url);
  const schema = checkSchema(options.schema ?? parsed.schema ?? "public");
  const lockTimeoutMs = positiveInt(options.lockTimeoutMs ?? 5000, "lockTimeoutMs");
  const connectTimeoutMs = positiveInt(options.connectTimeoutMs ?? 5000, "connectTimeoutMs");
  const listener = hooks
    ? {
        max: 1,
        idle_timeout: null,
        max_lifetime: null,
        fetch_types: false,
        onclose: hooks.onclose,
        // Not in the driver's typings: postgres.js 3 hands every NOTIFY on its connections
        // to it. Used instead of sql.listen(), whose automatic re-listen retries in a
        // tight loop (hundreds of connections a second) while the server is down.
        onnotify: hooks.onnotify,
        socket: throttledSocket(),
      }
    : {};
  const sql = postgres(parsed.url, {
    max: positiveInt(options.poolSize ?? 10, "poolSize"),
    connect_timeout: Math.max(1, Math.ceil(connectTimeoutMs / 1000)),
    idle_timeout: 300,
    // NOTICEs (such as "schema already exists") would go to the console.
    onnotice: () => undefined,
    connection: {
      application_name: "secure-msg-relay",
      search_path: schema,
      lock_timeout: lockTimeoutMs,
    },
    // bigint columns hold ms timestamps and log indexes, all below 2^53 (checked on write).
    types: {
      int8: {
        to: 20,
        from: [20],
        serialize: (x: number) => String(x),
        parse: (x: string) => Number(x),
      },
    },
    ...listener,
  } as postgres.Options<Record<string, postgres.PostgresType>>);
  return { sql, schema };
}

/**
 * SQLSTATE classes and codes that mean the database cannot serve now, not that the query
 * is wrong: connection exceptions (08), resources (53: disk full, out of memory,
 * too many connections), operator intervention (57: shutdown, cancel), system errors
 * (58), transaction rollback (40: serialization failure, deadlock, retried first), an
 * internal error (XX), a lock timeout (55P03), a read-only server (25006), and a
 * database that cannot be connected to (3D000, 28*).
 */
const UNAVAILABLE_CLASSES = new Set(["08", "53", "57", "58", "40", "XX", "28"]);
const UNAVAILABLE_CODES = new Set(["55P03", "25006", "3D000"]);

/** Codes the driver (or Node's socket) gives a connection that failed or was lost. */
const CONNECTION_CODES = /^(CONNECTION_|CONNECT_TIMEOUT$|E[A-Z_]+$)/;

export function isRetryable(e: unknown): boolean {
  return e instanceof postgres.PostgresError && (e.code === "40001" || e.code === "40P01");
}

/** Database failures become StoreUnavailable (a 503); anything else is a bug and passes through. */
export function unavailable(e: unknown): unknown {
  if (e instanceof StoreUnavailable) return e;
  if (e instanceof postgres.PostgresError) {
    if (UNAVAILABLE_CLASSES.has(e.code.slice(0, 2)) || UNAVAILABLE_CODES.has(e.code))
      return new StoreUnavailable(`storage unavailable: PostgreSQL ${e.code}`, { cause: e });
    return e;
  }
  const code = (e as { code?: unknown } | null)?.code;
  if (e instanceof Error && typeof code === "string" && CONNECTION_CODES.test(code))
    return new StoreUnavailable(`storage unavailable: ${code}`, { cause: e });
  return e;
}
