/**
 * A server process for the relay suite, one per process (issue 6 §3):
 *   relay-server.ts echo          a bare Hono app: POST /echo parses the JSON body and returns it
 *   relay-server.ts relay <dir>   our relay (relay/server.ts startRelay) on a fresh data folder
 * Both listen on 127.0.0.1 on a free port, print `{"url": …}` on one line, and stop on SIGTERM.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { useNodeCrypto } from "../cli/node-crypto.js";
import { startRelay } from "../relay/server.js";

/** High enough never to trigger: the limiter still runs (a store write per request). */
const UNLIMITED = { windowMs: 60_000, limit: 1_000_000_000 };

async function echo(): Promise<{ url: string; close: () => Promise<void> }> {
  const app = new Hono();
  app.post("/echo", async (c) => c.json(await c.req.json()));
  const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

async function relay(dataDir: string) {
  const r = await startRelay({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    logLevel: "warn",
    // Mailbox quotas stay at their defaults; only the per-IP rate limits would refuse a
    // load test from one address.
    config: { rateLimit: UNLIMITED, readRateLimit: UNLIMITED },
  });
  return { url: r.url, close: r.close };
}

// The relay runs as `secure-msg relay` runs it: with node:crypto's AES-GCM, hashes and
// X25519 (cli/node-crypto.ts).
useNodeCrypto();
const [mode, dir] = process.argv.slice(2);
const server = mode === "echo" ? await echo() : await relay(dir!);
process.stdout.write(`${JSON.stringify({ url: server.url, pid: process.pid })}\n`);
process.once("SIGTERM", () => {
  // Keep-alive connections could hold a graceful close open: give it a moment only.
  setTimeout(() => process.exit(0), 3000).unref();
  server.close().then(() => process.exit(0));
});
