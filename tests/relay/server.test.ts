/**
 * The relay's HTTP server as `secure-msg relay` starts it (relay/server.ts startRelay):
 * what reaches it byte for byte on a raw socket, before any web Request exists.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type RunningRelay, startRelay } from "../../relay/server.js";

let dir: string;
let relay: RunningRelay;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "secure-msg-server-"));
  relay = await startRelay({ host: "127.0.0.1", port: 0, dataDir: dir, logLevel: "silent" });
}, 60_000);

afterAll(async () => {
  await relay?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Writes `head` as the whole request and reads the answer until the relay closes. */
function raw(head: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: relay.port });
    const chunks: Buffer[] = [];
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", reject);
    socket.on("close", () => {
      const [top = "", body = ""] = Buffer.concat(chunks).toString("latin1").split("\r\n\r\n");
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(top)?.[1]), body });
    });
    socket.write(`${head}\r\nconnection: close\r\n\r\n`);
  });
}

it("answers a request it cannot make a URL of with a 400 in the relay's JSON error shape", async () => {
  const host = `host: 127.0.0.1:${relay.port}`;
  for (const head of [`GET /v1\\info HTTP/1.1\r\n${host}`, `OPTIONS * HTTP/1.1\r\n${host}`]) {
    const answer = await raw(head);
    expect(answer.status, head).toBe(400);
    expect(JSON.parse(answer.body), head).toEqual({
      error: { code: "BAD_REQUEST", message: "malformed request" },
    });
  }
  // The same server still answers well-formed requests.
  const ok = await raw(`GET /healthz HTTP/1.1\r\n${host}`);
  expect(ok.status).toBe(200);
});
