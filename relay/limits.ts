/**
 * Limits as option-taking middleware: per-IP rate limits kept in the store (so they hold
 * across relay processes), and the client IP behind an optional trusted proxy.
 */
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context, MiddlewareHandler } from "hono";
import type { RelayConfig } from "./config.js";
import { relayFail } from "./errors.js";
import type { RelayStore } from "./storage/types.js";

export function clientIp(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    // The trusted proxy appends the address it saw: the last entry. Earlier entries are
    // whatever the client sent, so taking the first would let it pick its own bucket.
    const forwarded = c.req.header("x-forwarded-for")?.split(",").at(-1)?.trim();
    if (forwarded) return forwarded;
  }
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown"; // in-memory requests (tests) have no socket
  }
}

export function isLoopbackIp(ip: string): boolean {
  return ip === "::1" || /^(?:::ffff:)?127\.\d+\.\d+\.\d+$/.test(ip);
}

export function rateLimit(opts: {
  store: RelayStore;
  bucket: string;
  windowMs: number;
  limit: number;
  trustProxy: boolean;
  now: () => number;
}): MiddlewareHandler {
  return async (c, next) => {
    const key = `${opts.bucket}:${clientIp(c, opts.trustProxy)}`;
    if (!(await opts.store.rateLimit(key, opts.windowMs, opts.limit, opts.now())))
      relayFail("RATE_LIMITED", "too many requests: slow down and retry later");
    await next();
  };
}

/** The relay's two per-IP limits: "write" (deposits, registrations) and "read". */
export function limiter(
  ctx: { store: RelayStore; config: RelayConfig; now: () => number },
  bucket: "read" | "write",
): MiddlewareHandler {
  const limits = bucket === "read" ? ctx.config.readRateLimit : ctx.config.rateLimit;
  return rateLimit({
    store: ctx.store,
    bucket,
    ...limits,
    trustProxy: ctx.config.trustProxy,
    now: ctx.now,
  });
}
