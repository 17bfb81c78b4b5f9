/**
 * The relay's Hono app (DESIGN §4, docs/protocol.md §13): builds the app from its
 * dependencies, mounts the routers, and turns every error into one JSON shape in a
 * single onError. server.ts only starts it.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Logger } from "pino";
import { base64url } from "../protocol/bytes.js";
import { RELAY_API_VERSION } from "../protocol/relay-api.js";
import { AnswersInFlight } from "./answers.js";
import { bodyLimit } from "./body-limit.js";
import type { RelayConfig } from "./config.js";
import { DepositBatcher } from "./deposits.js";
import { directoryRoutes } from "./directory.js";
import { RelayError, relayFail } from "./errors.js";
import { EventHub } from "./events.js";
import { inboxRoutes } from "./inbox.js";
import { clientIp, HitCounter, isLoopbackIp } from "./limits.js";
import { RelayLog } from "./log.js";
import { messageRoutes } from "./messages.js";
import { createMetrics, type Metrics } from "./metrics.js";
import type { RelaySigner } from "./signer.js";
import { StoreUnavailable } from "./storage/errors.js";
import type { RelayStore } from "./storage/types.js";

export interface RelayDeps {
  store: RelayStore;
  signer: RelaySigner;
  config: RelayConfig;
  now?: () => number;
  events?: EventHub;
  /** Inbox answers on their way (answers.ts); default limits unless given. */
  answers?: AnswersInFlight;
  logger?: Logger;
  /** Include Node process metrics in /metrics (the server does; tests do not). */
  processMetrics?: boolean;
}

/** What every router gets. */
export interface RelayContext {
  store: RelayStore;
  signer: RelaySigner;
  config: RelayConfig;
  now: () => number;
  events: EventHub;
  answers: AnswersInFlight;
  log: RelayLog;
  /** Group commit of deposits (deposits.ts). */
  deposits: DepositBatcher;
  /** Rate-limit hits, one store write per turn (limits.ts). */
  hits: HitCounter;
  metrics: Metrics;
  logger?: Logger;
}

export function createApp(deps: RelayDeps) {
  const now = deps.now ?? Date.now;
  const ctx: RelayContext = {
    store: deps.store,
    signer: deps.signer,
    config: deps.config,
    now,
    events: deps.events ?? new EventHub(),
    answers: deps.answers ?? new AnswersInFlight(),
    log: new RelayLog(deps.store, deps.signer, now),
    deposits: new DepositBatcher(
      deps.store,
      (leaves) => deps.signer.signReceipts(leaves),
      deps.config.mailboxQuota,
    ),
    hits: new HitCounter(deps.store, now),
    metrics: createMetrics(deps.store, deps.processMetrics),
    ...(deps.logger ? { logger: deps.logger } : {}),
  };
  const app = new Hono();

  app.use(ctx.metrics.middleware);
  // JSON bodies carry base64url: 4/3 of the largest envelope, plus room for the keys.
  const maxBody = Math.ceil((deps.config.maxEnvelopeBytes * 4) / 3) + 4096;
  app.use(
    "/v1/*",
    bodyLimit(maxBody, () => relayFail("TOO_LARGE", `the body is larger than ${maxBody} bytes`)),
  );

  app.get("/healthz", async (c) => {
    try {
      await ctx.store.health();
      return c.json({ status: "ok" });
    } catch (e) {
      return relayFail("UNAVAILABLE", "storage is unavailable", e);
    }
  });

  app.get("/metrics", async (c) => {
    // Counters show activity as it happens: by default only the host itself may read them.
    const mode = ctx.config.metrics;
    if (mode === "off" || (mode === "loopback" && !isLoopbackIp(clientIp(c, false))))
      relayFail("NOT_FOUND", "no such route");
    c.header("content-type", ctx.metrics.registry.contentType);
    return c.body(await ctx.metrics.registry.metrics());
  });

  app.get("/v1/info", (c) =>
    c.json({
      version: RELAY_API_VERSION,
      software: "secure-msg relay",
      url: ctx.config.url,
      keys: {
        hybrid: base64url.encode(ctx.signer.hybridPublic),
        ed25519: base64url.encode(ctx.signer.edPublic),
      },
      fingerprint: ctx.signer.fingerprint,
      limits: {
        maxEnvelopeBytes: ctx.config.maxEnvelopeBytes,
        maxInboxMessages: ctx.config.maxInboxMessages,
        messageTtlSeconds: Math.max(1, Math.floor(ctx.config.messageTtlMs / 1000)),
      },
    }),
  );

  app.route("/v1/directory", directoryRoutes(ctx));
  app.route("/v1/messages", messageRoutes(ctx));
  app.route("/v1/inbox", inboxRoutes(ctx));

  app.notFound(() => relayFail("NOT_FOUND", "no such route"));

  app.onError((err, c) => {
    if (err instanceof RelayError) {
      return c.json({ error: { code: err.code, message: err.message } }, err.status);
    }
    if (err instanceof StoreUnavailable || err.cause instanceof StoreUnavailable) {
      ctx.logger?.error({ err: { name: err.name, message: err.message } }, "storage unavailable");
      return c.json(
        { error: { code: "UNAVAILABLE", message: "storage is unavailable: retry later" } },
        503,
      );
    }
    if (err instanceof HTTPException && err.status < 500) {
      return c.json({ error: { code: "BAD_REQUEST", message: "bad request" } }, err.status);
    }
    // A bug: log what it was (never bodies or keys), answer without internals.
    ctx.logger?.error(
      { err: { name: err.name, message: err.message, stack: err.stack } },
      "internal error",
    );
    return c.json({ error: { code: "INTERNAL", message: "internal error" } }, 500);
  });

  return { app, ctx };
}
