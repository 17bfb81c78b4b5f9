/** Prometheus metrics (prom-client), one registry per app so tests stay independent. */
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { RelayStore } from "./storage/types.js";

export function createMetrics(store: RelayStore, withDefaults = false) {
  const registry = new Registry();
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: "secure_msg_relay_" });
  const requests = new Counter({
    name: "secure_msg_relay_requests_total",
    help: "HTTP requests by route and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "secure_msg_relay_request_duration_seconds",
    help: "HTTP request duration by route",
    labelNames: ["route"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const deposits = new Counter({
    name: "secure_msg_relay_deposits_total",
    help: "Messages stored",
    registers: [registry],
  });
  const delivered = new Counter({
    name: "secure_msg_relay_fetched_messages_total",
    help: "Messages returned by inbox fetches",
    registers: [registry],
  });
  new Gauge({
    name: "secure_msg_relay_log_size",
    help: "Leaves in the append-only log",
    registers: [registry],
    async collect() {
      this.set(await store.logSize());
    },
  });

  // Children by label values, kept: prom-client hashes a label object on every call.
  // Routes are the app's patterns and statuses a few, so these stay small.
  const durations = new Map<string, Histogram.Internal<"route">>();
  const counts = new Map<string, Counter.Internal>();
  const middleware: MiddlewareHandler = async (c, next) => {
    const started = performance.now();
    await next();
    const route = routePath(c) || "unmatched";
    let d = durations.get(route);
    if (!d) {
      d = duration.labels(route);
      durations.set(route, d);
    }
    d.observe((performance.now() - started) / 1000);
    const method = c.req.method;
    const status = String(c.res.status);
    const key = `${method} ${route} ${status}`;
    let n = counts.get(key);
    if (!n) {
      n = requests.labels(method, route, status);
      counts.set(key, n);
    }
    n.inc();
  };
  return { registry, middleware, deposits, delivered };
}

export type Metrics = ReturnType<typeof createMetrics>;
