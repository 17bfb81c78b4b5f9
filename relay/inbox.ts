/**
 * The inbox (docs/protocol.md §13.4), for the signed-in user only (auth.ts):
 * `GET /v1/inbox` returns messages with inclusion proofs in one signed checkpoint, and a
 * consistency proof from the checkpoint the client last saw; `POST /v1/inbox/ack`
 * deletes what the client has stored; `GET /v1/inbox/events` streams new-message events.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { AckRequest } from "../protocol/relay-api.js";
import type { AnswerSlot } from "./answers.js";
import type { RelayContext } from "./app.js";
import { type AuthEnv, requestAuth } from "./auth.js";
import { relayFail } from "./errors.js";
import { bytesField, readJson } from "./json.js";
import { limiter } from "./limits.js";
import { inboxBody } from "./present.js";

const HEARTBEAT_MS = 15_000;

/** No room for another inbox answer (answers.ts): the user's own, or the relay's. */
function refuse(full: "user" | "relay"): never {
  if (full === "user")
    relayFail("RATE_LIMITED", "your earlier inbox answers are still on their way");
  relayFail("UNAVAILABLE", "the relay is busy sending inbox answers: retry later");
}
const MAX_QUEUED_EVENTS = 64;

function intParam(
  value: string | undefined,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,15}$/.test(value)) return relayFail("BAD_REQUEST", `invalid ${name}`);
  const n = Number(value);
  if (n < min || n > max)
    return relayFail("BAD_REQUEST", `${name} must be between ${min} and ${max}`);
  return n;
}

export function inboxRoutes(ctx: RelayContext) {
  const { store, config, now } = ctx;
  const app = new Hono<AuthEnv>();
  // Limited before auth: a failed signature check costs a lookup and a verify too.
  app.use(limiter(ctx, "read"));
  app.use(requestAuth({ store, relayKey: ctx.signer.edPublic, now }));

  app.get("/", async (c) => {
    const user = c.get("user");
    const slot = ctx.answers.enter(user.name);
    if (!slot) return refuse("user");
    // Through Node's server, the slot is given back when the response closes (sent, or
    // the connection gone), or when the connection closes first (a pipelined response
    // still queued behind another never closes); in memory (tests' app.request), when
    // the handler ends.
    const env = c.env as { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;
    const outgoing = env?.outgoing;
    const socket = env?.incoming?.socket;
    const done = () => {
      slot.release();
      outgoing?.off("close", done);
      socket?.off("close", done);
    };
    if (outgoing?.destroyed || socket?.destroyed)
      done(); // gone already
    else {
      outgoing?.once("close", done);
      socket?.once("close", done);
    }
    try {
      return await answer(c, user.name, slot);
    } finally {
      if (!outgoing) done();
    }
  });

  async function answer(c: Context<AuthEnv>, name: string, slot: AnswerSlot) {
    const limit = intParam(
      c.req.query("limit"),
      "limit",
      1,
      config.maxInboxMessages,
      config.maxInboxMessages,
    );
    const since = intParam(c.req.query("since"), "since", 1, Number.MAX_SAFE_INTEGER, 0);
    const messages = await store.fetch(name, limit, now(), config.maxInboxBytes);
    // A checkpoint that covers every returned message; `since` never forces a new one.
    const needed = messages.reduce((n, m) => Math.max(n, m.index + 1), 0);
    const checkpoint = await ctx.log.covering(needed, since);
    const withSince = checkpoint && since > 0 && since <= checkpoint.size ? since : undefined;
    const proofs = checkpoint
      ? await ctx.log.proofs(
          messages.map((m) => m.index),
          checkpoint.size,
          withSince,
        )
      : undefined;
    ctx.metrics.delivered.inc(messages.length);
    const body = inboxBody(messages, proofs?.inclusion ?? [], checkpoint, proofs?.consistency);
    const room = slot.hold(body.length);
    if (room !== "ok") return refuse(room);
    return c.body(body, 200, { "content-type": "application/json" });
  }

  app.post("/ack", async (c) => {
    const body = await readJson(c, AckRequest, c.get("body"));
    const ids = body.ids.map((id, i) => bytesField(id, `ids.${i}`));
    const deleted = await store.ack(c.get("user").name, ids);
    return c.json({ deleted });
  });

  app.get("/events", (c) => {
    const name = c.get("user").name;
    // Hono answers HEAD with this GET handler and drops the body unread: a stream opened
    // here would never see an abort, and its subscription would leak.
    if (c.req.method === "HEAD") return c.body(null, 200, { "content-type": "text/event-stream" });
    const queue: string[] = [];
    let wake: (() => void) | undefined;
    /** A newer stream of this mailbox took this one's place (events.ts). */
    let evicted = false;
    const unsubscribe = ctx.events.subscribe(
      name,
      (e) => {
        // Events only say "fetch now": a reader that does not keep up loses nothing by
        // getting fewer of them, and the queue stays bounded.
        if (queue.length < MAX_QUEUED_EVENTS) queue.push(JSON.stringify(e));
        wake?.();
      },
      () => {
        evicted = true;
        wake?.();
      },
    );
    if (!unsubscribe) return relayFail("UNAVAILABLE", "too many event streams: retry later");
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      try {
        await stream.writeSSE({ event: "ready", data: "{}" });
        while (!stream.aborted && !evicted) {
          while (queue.length > 0)
            await stream.writeSSE({ event: "message", data: queue.shift()! });
          // Evicted or aborted during a write (no wake to call then): end now.
          if (stream.aborted || evicted) break;
          await new Promise<void>((resolve) => {
            // Cleared on wake: a pending heartbeat would hold a stopping relay open.
            const heartbeat = setTimeout(resolve, HEARTBEAT_MS);
            wake = () => {
              clearTimeout(heartbeat);
              resolve();
            };
          });
          wake = undefined;
          if (queue.length === 0 && !stream.aborted && !evicted)
            await stream.write(": heartbeat\n\n");
        }
      } finally {
        unsubscribe();
      }
    });
  });

  return app;
}
