/**
 * Suite 4: unlock time. Argon2id at the default parameters (m = 64 MiB, t = 3, p = 1),
 * in Node (the keystore alone, and the whole Client.open) and in the extension's service
 * worker in Chromium: an `unlock` request from an extension page, timed from the page,
 * through the e2e harness (tests/e2e/harness.ts).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Client } from "../protocol/client.js";
import { DEFAULT_KDF, Keystore } from "../protocol/keystore.js";
import { MemoryStorage } from "../protocol/storage.js";
import { CHROMIUM, launchExtension } from "../tests/e2e/harness.js";
import type { Row, Section, SuiteOptions } from "./report.js";
import { summarize } from "./stats.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PASSWORD = "correct horse battery staple";

async function times(n: number, f: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f();
    out.push(performance.now() - t);
  }
  return out;
}

async function node(n: number): Promise<{ keystore: number[]; client: number[] }> {
  const ks = new MemoryStorage();
  await Keystore.create(ks, PASSWORD, DEFAULT_KDF);
  const cs = new MemoryStorage();
  await Client.create(cs, { name: "bench", password: PASSWORD });
  const keystore: number[] = [];
  const client: number[] = [];
  // Alternating, as everywhere else in the bench.
  for (let i = 0; i < n; i++) {
    keystore.push(...(await times(1, () => Keystore.unlock(ks, PASSWORD))));
    client.push(...(await times(1, () => Client.open(cs, PASSWORD))));
  }
  return { keystore, client };
}

/** Builds the Chrome target into `out` as the e2e setup does (tests/e2e/build.ts). */
async function buildExtension(out: string): Promise<void> {
  await promisify(execFile)("npx", ["--no-install", "vite", "build", "--logLevel", "warn"], {
    cwd: ROOT,
    env: { ...process.env, TARGET: "chrome", EXTENSION_OUT_DIR: out },
  });
}

/**
 * Runs in the popup page. A string, not a function: tsx's transform would add helpers
 * that do not exist in the page.
 */
const UNLOCK_TIMES = (n: number) => `(async () => {
  const password = ${JSON.stringify(PASSWORD)};
  const send = async (req) => {
    const r = await chrome.runtime.sendMessage(req);
    if (!r || !r.ok) throw new Error("worker refused: " + JSON.stringify(r));
  };
  // The relay is unreachable: the account is kept, unregistered (as in the e2e tests).
  await send({ type: "createAccount", relay: "http://127.0.0.1:1", name: "bench", password });
  const out = [];
  for (let i = 0; i < ${n}; i++) {
    await send({ type: "lock" });
    const t = performance.now();
    await send({ type: "unlock", password });
    out.push(performance.now() - t);
  }
  return out;
})()`;

async function browser(n: number, log: (s: string) => void): Promise<number[]> {
  const dir = await mkdtemp(join(tmpdir(), "secure-msg-bench-ext-"));
  try {
    log("unlock: building the extension");
    await buildExtension(join(dir, "chrome"));
    const b = await launchExtension(join(dir, "chrome"));
    try {
      const page = await b.openPopup();
      return (await page.evaluate(UNLOCK_TIMES(n))) as number[];
    } finally {
      await b.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function unlock(o: SuiteOptions): Promise<Section> {
  const n = o.quick ? 1 : 5;
  o.log(`unlock: Node, ${o.quick ? 1 : 3} runs`);
  const inNode = await node(o.quick ? 1 : 3);
  const rows: Row[] = [
    {
      measure: "Argon2id + DEK unwrap (Keystore.unlock), Node",
      unit: "ms",
      ours: summarize(inNode.keystore),
    },
    {
      measure: "Client.open (Argon2id + identity keys), Node",
      unit: "ms",
      ours: summarize(inNode.client),
    },
  ];
  const notes = [
    `Argon2id m = ${DEFAULT_KDF.m / 1024} MiB, t = ${DEFAULT_KDF.t}, p = ${DEFAULT_KDF.p} through hash-wasm (WebAssembly), in Node and in the worker alike.`,
    "In the browser: the popup page sends `lock`, then times `unlock` until the worker answers (Argon2id, DEK unwrap, identity keys, prekey upkeep, badge).",
  ];
  if (existsSync(CHROMIUM) || process.env.CI) {
    const inBrowser = await browser(n, o.log);
    const s = summarize(inBrowser);
    rows.push({
      measure: "unlock in the extension's service worker, Chromium",
      unit: "ms",
      ours: s,
      goal: "< 600 ms",
      met: s.median < 600,
    });
  } else {
    notes.push(`Chromium is not installed at ${CHROMIUM}: the browser measurement was skipped.`);
  }
  return { id: "unlock", title: "Unlock time", competitor: "", rows, notes };
}
