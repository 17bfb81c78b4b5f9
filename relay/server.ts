/**
 * Starts a relay: data folder, key file, store, app, HTTP server, expiry timer, and a
 * graceful stop. Wiring only; `secure-msg relay` calls it.
 */
import { mkdir } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { getRequestListener } from "@hono/node-server";
import pino from "pino";
import { base64url } from "../protocol/bytes.js";
import { checkRelayUrl } from "../protocol/identity.js";
import { isLoopback } from "../protocol/relay-api.js";
import { createApp } from "./app.js";
import { DEFAULTS, type RelayConfig } from "./config.js";
import { unreadableRequest } from "./errors.js";
import { EventHub } from "./events.js";
import { checkRelayKey } from "./rekey.js";
import { RelaySigner } from "./signer.js";
import { PostgresStore } from "./storage/postgres.js";
import { SqliteStore } from "./storage/sqlite.js";
import type { RelayStore } from "./storage/types.js";

export interface ServeOptions {
  host: string;
  port: number;
  /** Holds the key file, and the SQLite database unless `databaseUrl` is given. */
  dataDir: string;
  /** postgres://user@host:port/database[?schema=NAME]: use PostgreSQL instead of SQLite. */
  databaseUrl?: string;
  /** The URL clients use; defaults to http://host:port. */
  publicUrl?: string;
  keyFile?: string;
  config?: Partial<Omit<RelayConfig, "url">>;
  /** pino level; "silent" in tests. */
  logLevel?: string;
  /** Re-sign the data folder when the key file changed (see rekey.ts). */
  rekey?: boolean;
}

export interface RunningRelay {
  url: string;
  /** The port actually bound (useful with port 0). */
  port: number;
  /** The data folder was re-signed with a new key at start. */
  rekeyed: boolean;
  fingerprint: string;
  keyCreated: boolean;
  store: RelayStore;
  close(): Promise<void>;
}

const EXPIRE_EVERY_MS = 60_000;
/**
 * A connection with no traffic either way for this long is dropped: a client that stopped
 * reading its answer must not hold it (answers.ts). Event streams send a heartbeat every
 * 15 s, and clients give up on a request after 15 s.
 */
const IDLE_SOCKET_MS = 120_000;
const DRAIN_MS = 2_000;

async function openStore(o: ServeOptions): Promise<RelayStore> {
  if (o.databaseUrl) return PostgresStore.open(o.databaseUrl);
  return SqliteStore.open(join(o.dataDir, "relay.db"));
}

export async function startRelay(o: ServeOptions): Promise<RunningRelay> {
  const logger = pino({ level: o.logLevel ?? "info", base: { service: "secure-msg-relay" } });
  await mkdir(o.dataDir, { recursive: true, mode: 0o700 });
  const { signer, created } = await RelaySigner.loadOrCreate(
    o.keyFile ?? join(o.dataDir, "relay.key"),
  );
  const store = await openStore(o);
  let rekeyed: boolean;
  try {
    rekeyed = await checkRelayKey(store, signer, o.rekey === true);
  } catch (e) {
    await store.close();
    throw e;
  }
  if (rekeyed)
    logger.warn({ event: "rekey" }, "the data folder was re-signed with a new relay key");
  const config: RelayConfig = { ...DEFAULTS, ...o.config, url: "" };
  // Several processes on one database: deposits made by the others reach this one's
  // event streams through the store (PostgreSQL LISTEN/NOTIFY).
  const events = new EventHub();
  let unsubscribe: (() => Promise<void>) | undefined;
  try {
    unsubscribe = await store.subscribe?.(
      (n) => events.publish(n.to, { id: base64url.encode(n.id), index: n.index }),
      (e) => logger.warn({ event: "fan-out", err: (e as Error).message }, "fan-out failed"),
    );
  } catch (e) {
    await store.close();
    throw e;
  }
  const { app } = createApp({ store, signer, config, events, logger, processMetrics: true });

  const server = createServer(
    getRequestListener(app.fetch, { hostname: o.host, errorHandler: unreadableRequest }),
  );
  server.listen(o.port, o.host);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    });
  } catch (e) {
    await store.close();
    throw e;
  }
  server.setTimeout(IDLE_SOCKET_MS);
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  config.url = checkRelayUrl(o.publicUrl ?? `http://${host}:${port}`);
  const u = new URL(config.url);
  if (config.url !== u.origin || (u.protocol === "http:" && !isLoopback(u.hostname))) {
    server.close();
    await store.close();
    throw new Error(
      "the public URL must be https://host[:port] with no path (http only on loopback): clients reach relays by address",
    );
  }

  const expiry = setInterval(() => {
    store.expire(Date.now()).then(
      (n) => n > 0 && logger.info({ event: "expire", deleted: n }, "expired messages deleted"),
      (e: Error) => logger.warn({ event: "expire", err: e.message }, "expiry failed"),
    );
  }, EXPIRE_EVERY_MS);
  expiry.unref();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(expiry);
      // Stop accepting, give requests in flight a moment, then cut event streams.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const timer = setTimeout(
        () => (server as { closeAllConnections?: () => void }).closeAllConnections?.(),
        DRAIN_MS,
      );
      (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      await closed;
      clearTimeout(timer);
      await unsubscribe?.();
      await store.close();
      logger.info({ event: "stopped" }, "relay stopped");
    })();
    return closing;
  };
  // Never the database URL: it may hold a password.
  logger.info(
    {
      event: "started",
      url: config.url,
      fingerprint: signer.fingerprint,
      storage: store instanceof PostgresStore ? `postgresql (schema ${store.schema})` : "sqlite",
    },
    "relay started",
  );
  return {
    url: config.url,
    port,
    rekeyed,
    fingerprint: signer.fingerprint,
    keyCreated: created,
    store,
    close,
  };
}
