/**
 * `secure-msg relay`: runs a relay (relay/server.ts) until SIGTERM or SIGINT, then stops it
 * gracefully. The relay's modules are loaded only here, so the other commands start fast.
 */
import { join } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { checkSchema, parseDatabaseUrl } from "../../relay/storage/postgres-url.js";
import { EXIT_FAILURE } from "../exit.js";
import { Failure } from "../failure.js";
import { RELAY_HELP } from "../help.js";
import { note, out } from "../output.js";
import { UsageError } from "../usage-error.js";

export const DEFAULT_DATA = "./.data/relay";
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

interface RelayOptions {
  host: string;
  port: number;
  data: string;
  databaseUrl?: string;
  publicUrl?: string;
  logLevel: string;
  rekey?: boolean;
  messageTtl: number;
  mailboxQuota: number;
  rateLimit: number;
  trustProxy?: boolean;
  metrics: "loopback" | "public" | "off";
}

function positive(value: string, flag: string, max: number): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) < 1 || Number(value) > max)
    throw new InvalidArgumentError(`${flag} must be a whole number from 1 to ${max}`);
  return Number(value);
}

/**
 * Checked before the relay loads, so that a mistyped URL is a usage error (exit 2). Not a
 * commander argParser: commander would print the value, and the URL may hold a password.
 */
function checkDatabaseUrl(value: string): void {
  try {
    const { schema } = parseDatabaseUrl(value);
    if (schema !== undefined) checkSchema(schema);
  } catch (e) {
    throw new UsageError(`invalid --database-url: ${(e as Error).message}`);
  }
}

function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535)
    throw new InvalidArgumentError("a port is a number from 0 to 65535.");
  return Number(value);
}

export function addRelayCommand(program: Command): void {
  program
    .command("relay")
    .description("run a relay: the server that keeps encrypted messages until they are fetched")
    .addOption(new Option("--host <host>", "address to listen on").env("HOST").default("127.0.0.1"))
    .addOption(
      new Option("--port <port>", "port to listen on (0 picks a free one)")
        .env("PORT")
        .default(8787)
        .argParser(parsePort),
    )
    .addOption(
      new Option("--data <dir>", "data folder: database and key file")
        .env("SECURE_MSG_DATA")
        .default(DEFAULT_DATA),
    )
    .addOption(
      new Option(
        "--database-url <url>",
        "PostgreSQL instead of SQLite, for several relay processes: postgres://user@host/db[?schema=NAME]",
      ).env("DATABASE_URL"),
    )
    .addOption(
      new Option(
        "--public-url <url>",
        "the URL clients use, when not http://HOST:PORT (a proxy)",
      ).env("SECURE_MSG_PUBLIC_URL"),
    )
    .addOption(
      new Option("--message-ttl <days>", "delete unread messages after this many days")
        .env("SECURE_MSG_MESSAGE_TTL_DAYS")
        .default(7)
        .argParser((v) => positive(v, "--message-ttl", 3650)),
    )
    .addOption(
      new Option("--mailbox-quota <n>", "most messages one mailbox may hold")
        .env("SECURE_MSG_MAILBOX_QUOTA")
        .default(10_000)
        .argParser((v) => positive(v, "--mailbox-quota", 10_000_000)),
    )
    .addOption(
      new Option("--rate-limit <n>", "deposits and registrations per client IP per minute")
        .env("SECURE_MSG_RATE_LIMIT")
        .default(600)
        .argParser((v) => positive(v, "--rate-limit", 10_000_000)),
    )
    .addOption(
      new Option(
        "--trust-proxy",
        "take the client IP from X-Forwarded-For (behind your own reverse proxy only)",
      ).env("SECURE_MSG_TRUST_PROXY"),
    )
    .addOption(
      new Option("--metrics <who>", "who may read /metrics")
        .choices(["loopback", "public", "off"])
        .env("SECURE_MSG_METRICS")
        .default("loopback"),
    )
    .option(
      "--rekey",
      "the key file was replaced: re-sign the data folder with the new key (clients will warn)",
    )
    .addOption(
      new Option("--log-level <level>", "log level")
        .choices(LOG_LEVELS)
        .env("LOG_LEVEL")
        .default("info"),
    )
    .addHelpText("after", RELAY_HELP)
    .action(relay);
}

/** Errors the operator can fix (a taken port, a damaged key file) exit 1 with their message. */
function startFailure(e: unknown, o: RelayOptions): unknown {
  if (!(e instanceof Error)) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE")
    return new Failure(`cannot listen on ${o.host}:${o.port}: the address is in use`);
  if (code === "EADDRNOTAVAIL")
    return new Failure(`cannot listen on ${o.host}: not an address of this machine`);
  if (code !== undefined || e.constructor === Error || e.name === "StoreUnavailable")
    return new Failure(`cannot start the relay: ${e.message}`, { cause: e });
  return e; // a bug: exit.ts reports it without internals
}

async function relay(o: RelayOptions): Promise<void> {
  // First of all: the database, its journal and the key file are the owner's alone (0600).
  process.umask(0o077);
  if (o.databaseUrl) checkDatabaseUrl(o.databaseUrl);
  const { startRelay } = await import("../../relay/server.js");
  const keyFile = join(o.data, "relay.key");
  const running = await startRelay({
    host: o.host,
    port: o.port,
    dataDir: o.data,
    keyFile,
    logLevel: o.logLevel,
    ...(o.databaseUrl ? { databaseUrl: o.databaseUrl } : {}),
    ...(o.publicUrl ? { publicUrl: o.publicUrl } : {}),
    rekey: o.rekey === true,
    config: {
      messageTtlMs: o.messageTtl * 24 * 60 * 60 * 1000,
      mailboxQuota: o.mailboxQuota,
      rateLimit: { windowMs: 60_000, limit: o.rateLimit },
      trustProxy: o.trustProxy === true,
      metrics: o.metrics,
    },
  }).catch((e: unknown) => {
    throw startFailure(e, o);
  });
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  out(`listening on ${o.publicUrl ? `http://${host}:${running.port}` : running.url}\n`);
  if (o.publicUrl) out(`public url: ${running.url}\n`);
  out(`relay fingerprint: ${running.fingerprint}\n`);
  if (running.rekeyed) note("re-signed the data folder with the new relay key");
  note(
    running.keyCreated
      ? `created the relay key file ${keyFile}: back it up; clients pin its keys`
      : `using the relay key file ${keyFile}`,
  );

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (s: NodeJS.Signals) => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      resolve(s);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  // A second signal while requests drain stops at once.
  const force = () => process.exit(EXIT_FAILURE);
  process.once("SIGTERM", force);
  process.once("SIGINT", force);
  note(`${signal}: stopping`);
  await running.close();
  note("relay stopped");
  process.off("SIGTERM", force);
  process.off("SIGINT", force);
  // Stopped: nothing should keep the process alive now, but if a library does, exit anyway.
  setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
}
