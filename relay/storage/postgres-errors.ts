/**
 * Which PostgreSQL failures mean "the database cannot serve right now" (StoreUnavailable,
 * a 503, DESIGN §4) rather than a bug (a 500), for errors from node-postgres (`pg`).
 *
 * `pg` gives three kinds of errors: a DatabaseError, which the server sent with a SQLSTATE
 * `code`; a Node socket error (ECONNREFUSED, ECONNRESET, ETIMEDOUT…, with a `code`); and
 * plain Errors of its own for a connection that ended, timed out or broke, which carry no
 * code and are told apart by their fixed messages (pg/lib/client.js, pg-pool/index.js).
 * None of them holds the database URL or its password.
 */
import pg from "pg";
import { StoreUnavailable } from "./errors.js";

/**
 * SQLSTATE classes and codes that mean the database cannot serve now, not that the query
 * is wrong: connection exceptions (08), resources (53: disk full, out of memory,
 * too many connections), operator intervention (57: shutdown, crash recovery, cancel,
 * statement timeout), system errors (58), transaction rollback (40: serialization
 * failure, deadlock, retried first), an internal error (XX), a database that cannot be
 * connected to (28*, 3D000), a lock timeout (55P03), a read-only server (25006), and a
 * session ended for idling in a transaction (25P03).
 */
const UNAVAILABLE_CLASSES = new Set(["08", "53", "57", "58", "40", "XX", "28"]);
const UNAVAILABLE_CODES = new Set(["55P03", "25006", "25P03", "3D000"]);

/** Server codes after which the connection is gone (or going): shutdown, crash, no connection. */
const CONNECTION_LOST_CODES = new Set(["57P01", "57P02", "57P03", "53300"]);

/** Node's socket error codes (ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT, ENOTFOUND…). */
const SOCKET_CODE = /^E[A-Z_]+$/;

/**
 * `pg`'s own errors for a connection that could not open, ended or broke, or that did not
 * answer a query in time (the `query_timeout` backstop of postgres-connect.ts).
 */
const PG_CONNECTION_MESSAGE =
  /^(Connection terminated|Client has encountered a connection error|Client was closed|timeout exceeded when trying to connect|Cannot use a pool after calling end|Query read timeout)/;

function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** A server error of the given code class or code that means "cannot serve now". */
function unavailableCode(code: string): boolean {
  return UNAVAILABLE_CLASSES.has(code.slice(0, 2)) || UNAVAILABLE_CODES.has(code);
}

/**
 * True when `e` says the connection to the database is lost, could not be opened, or
 * stopped answering (as opposed to a statement that failed on a healthy connection): the
 * pool then closes that connection rather than reuse it (postgres-pool.ts).
 */
export function isConnectionFailure(e: unknown): boolean {
  if (e instanceof pg.DatabaseError)
    return e.code?.startsWith("08") === true || CONNECTION_LOST_CODES.has(e.code ?? "");
  if (!(e instanceof Error)) return false;
  const code = codeOf(e);
  if (code !== undefined && SOCKET_CODE.test(code)) return true;
  return PG_CONNECTION_MESSAGE.test(e.message);
}

/** A deadlock or serialization failure: the transaction may simply be run again. */
export function isRetryable(e: unknown): boolean {
  return e instanceof pg.DatabaseError && (e.code === "40001" || e.code === "40P01");
}

/** Database failures become StoreUnavailable (a 503); anything else is a bug and passes through. */
export function unavailable(e: unknown): unknown {
  if (e instanceof StoreUnavailable) return e;
  if (e instanceof pg.DatabaseError) {
    const code = e.code ?? "";
    if (unavailableCode(code))
      return new StoreUnavailable(`storage unavailable: PostgreSQL ${code}`, { cause: e });
    return e;
  }
  if (isConnectionFailure(e)) {
    const code = codeOf(e);
    // An AggregateError (every address of a host refused) has an empty message.
    const detail = code ?? (e as Error).message;
    return new StoreUnavailable(`storage unavailable: ${detail}`, { cause: e });
  }
  return e;
}
