/**
 * Connecting the PostgreSQL store (DESIGN §4): the driver options (postgres.js) for the
 * pool and for the LISTEN connection, and which failures mean "the database cannot serve
 * right now" (StoreUnavailable, a 503) rather than a bug. The URL and its `?schema=`:
 * postgres-url.ts.
 */
import postgres from "postgres";
import { StoreUnavailable } from "./errors.js";
import { guardSockets } from "./postgres-socket.js";
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
  /** Ms until the next connection attempt after a failed one (postgres-socket.ts). */
  retryIn(): number;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer`);
  return value;
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
        // Never closed for idling or age: it is the process's ear for other deposits.
        idle_timeout: 0,
        max_lifetime: null,
        fetch_types: false,
        onclose: hooks.onclose,
      }
    : {};
  // Options postgres.js 3 reads but does not type: `socket` (its README's custom socket),
  // and `onnotify`, which gets every NOTIFY on the instance's connections. The LISTEN
  // connection uses that instead of sql.listen(), whose automatic re-listen retries at
  // once and forever while the server is down (postgres-notify.ts retries with backoff).
  // The pool retries within about a second; the LISTEN connection may wait longer.
  const guard = guardSockets(hooks ? 5000 : 1000);
  const untyped = {
    socket: guard.socket,
    ...(hooks ? { onnotify: hooks.onnotify } : {}),
  } as unknown as Partial<postgres.Options<Record<string, postgres.PostgresType>>>;
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
    ...untyped,
  });
  return { sql, schema, retryIn: guard.retryIn };
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
