/**
 * Limits as option-taking middleware: per-IP rate limits kept in the store (so they hold
 * across relay processes), and the client IP behind an optional trusted proxy.
 *
 * Hits are counted in the store in one write per turn of the event loop (HitCounter):
 * every request waits for the write that counts it and is judged by its own place in its
 * window (the window's count before that write, plus the hits ahead of it in the same
 * write), exactly as one write per hit would judge it, across processes too. Under load
 * that is one write for many requests instead of one each.
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

interface Hit {
  key: string;
  windowMs: number;
  limit: number;
  resolve: (allowed: boolean) => void;
  reject: (e: unknown) => void;
}

export class HitCounter {
  #pending: Hit[] = [];
  #scheduled = false;
  /** Store writes made (tests). */
  writes = 0;

  constructor(
    private readonly store: RelayStore,
    private readonly now: () => number,
  ) {}

  /** Counts one hit on `key`; true if it is within the `limit` of its window. */
  hit(key: string, windowMs: number, limit: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ key, windowMs, limit, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        void this.#flush();
      });
    });
  }

  async #flush(): Promise<void> {
    const hits = this.#pending;
    this.#pending = [];
    // One group per key; a key is one bucket with one window length (`rateLimit` puts
    // the bucket in the key), and a hit with another length would be a bug.
    const byKey = new Map<string, Hit[]>();
    for (const h of hits) {
      const same = byKey.get(h.key);
      if (same && same[0]!.windowMs !== h.windowMs) {
        h.reject(new Error(`rate-limit key ${h.key} used with two window lengths`));
        continue;
      }
      if (same) same.push(h);
      else byKey.set(h.key, [h]);
    }
    try {
      this.writes++;
      const groups = [...byKey.values()];
      const counts = await this.store.addHits(
        groups.map((g) => ({ key: g[0]!.key, windowMs: g[0]!.windowMs, add: g.length })),
        this.now(),
      );
      for (const [i, g] of groups.entries()) {
        const before = counts[i]! - g.length;
        for (const [j, h] of g.entries()) h.resolve(before + j + 1 <= h.limit);
      }
    } catch (e) {
      for (const g of byKey.values()) for (const h of g) h.reject(e);
    }
  }
}

export function rateLimit(opts: {
  hits: HitCounter;
  bucket: string;
  windowMs: number;
  limit: number;
  trustProxy: boolean;
}): MiddlewareHandler {
  return async (c, next) => {
    const key = `${opts.bucket}:${clientIp(c, opts.trustProxy)}`;
    if (!(await opts.hits.hit(key, opts.windowMs, opts.limit)))
      relayFail("RATE_LIMITED", "too many requests: slow down and retry later");
    await next();
  };
}

/** The relay's two per-IP limits: "write" (deposits, registrations) and "read". */
export function limiter(
  ctx: { hits: HitCounter; config: RelayConfig },
  bucket: "read" | "write",
): MiddlewareHandler {
  const limits = bucket === "read" ? ctx.config.readRateLimit : ctx.config.rateLimit;
  return rateLimit({
    hits: ctx.hits,
    bucket,
    ...limits,
    trustProxy: ctx.config.trustProxy,
  });
}
