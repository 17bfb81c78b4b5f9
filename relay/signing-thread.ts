/**
 * Ed25519 signatures made on a worker thread, for the receipts of a deposit batch
 * (deposits.ts). A receipt costs about as much CPU as the rest of a deposit's route; on
 * the event loop it would hold up every other request. The worker signs a whole batch per
 * message while the event loop goes on reading requests, and a relay machine has cores
 * to spare for it.
 *
 * The worker holds imported keys (KeyObjects cross threads as handles; the seed is never
 * copied as bytes) and does nothing but `crypto.sign(null, message, key)`: Ed25519 is
 * deterministic, so its signatures are byte for byte those of `edSign` on this thread
 * (tests compare them). It is one thread per process, started on first use, shared by
 * every key, and it never keeps the process alive when idle. Small batches, and every
 * batch after the worker failed, are signed on this thread instead: a signature is never
 * lost, only slower.
 */
import { type KeyObject, sign } from "node:crypto";
import { Worker } from "node:worker_threads";

/** Below this many messages a round trip to the worker costs more than it saves. */
export const OFF_THREAD_MIN = 8;
const SIGNATURE_LENGTH = 64;

/**
 * The worker's source: plain JavaScript, so that it runs the same from the compiled CLI,
 * under tsx and in tests. It signs, or answers `failed` (the caller signs instead).
 */
const SOURCE = `"use strict";
const { parentPort } = require("node:worker_threads");
const { sign } = require("node:crypto");
const keys = new Map();
parentPort.on("message", (m) => {
  if (m.key) return void keys.set(m.keyId, m.key);
  try {
    const key = keys.get(m.keyId);
    const out = new Uint8Array(${SIGNATURE_LENGTH} * m.messages.length);
    for (let i = 0; i < m.messages.length; i++) out.set(sign(null, m.messages[i], key), ${SIGNATURE_LENGTH} * i);
    parentPort.postMessage({ id: m.id, signatures: out }, [out.buffer]);
  } catch {
    parentPort.postMessage({ id: m.id, failed: true });
  }
});
`;

interface Job {
  key: KeyObject;
  messages: Uint8Array[];
  resolve: (signatures: Uint8Array[]) => void;
}

let worker: Worker | undefined;
/** Set once the worker failed: from then on every batch is signed on this thread. */
let broken = false;
const jobs = new Map<number, Job>();
let nextJob = 0;
/** Keys this worker has been sent. */
let keyIds = new WeakMap<KeyObject, number>();
let nextKey = 0;

function signHere(key: KeyObject, messages: Uint8Array[]): Uint8Array[] {
  return messages.map((m) => new Uint8Array(sign(null, m, key)));
}

/** Fails over: every job in flight is signed here, and the worker is not used again. */
function fail(): void {
  broken = true;
  const w = worker;
  worker = undefined;
  for (const [id, job] of jobs) {
    jobs.delete(id);
    job.resolve(signHere(job.key, job.messages));
  }
  void w?.terminate();
}

function thread(): Worker | undefined {
  if (broken) return undefined;
  if (worker) return worker;
  try {
    const w = new Worker(SOURCE, { eval: true });
    w.on("message", (m: { id: number; signatures?: Uint8Array; failed?: true }) => {
      const job = jobs.get(m.id);
      if (!job) return;
      jobs.delete(m.id);
      if (jobs.size === 0) w.unref();
      if (!m.signatures) return job.resolve(signHere(job.key, job.messages));
      const out: Uint8Array[] = [];
      for (let i = 0; i < job.messages.length; i++)
        out.push(m.signatures.subarray(SIGNATURE_LENGTH * i, SIGNATURE_LENGTH * (i + 1)));
      job.resolve(out);
    });
    w.on("error", fail);
    w.on("exit", fail);
    w.unref();
    worker = w;
    keyIds = new WeakMap();
    return w;
  } catch {
    broken = true;
    return undefined;
  }
}

/** Ed25519 signatures of `messages` (already prefixed as §3.5 signs them) with `key`. */
export function signMany(key: KeyObject, messages: Uint8Array[]): Promise<Uint8Array[]> {
  const w = messages.length >= OFF_THREAD_MIN ? thread() : undefined;
  if (!w) return Promise.resolve(signHere(key, messages));
  let keyId = keyIds.get(key);
  if (keyId === undefined) {
    keyId = nextKey++;
    keyIds.set(key, keyId);
    w.postMessage({ keyId, key });
  }
  const id = nextJob++;
  return new Promise((resolve) => {
    jobs.set(id, { key, messages, resolve });
    // Referenced while it has work: a caller awaiting it keeps the process alive.
    w.ref();
    w.postMessage({ id, keyId, messages });
  });
}

/** Stops the worker (tests); the next large batch starts a new one. */
export async function stopSigningThread(): Promise<void> {
  const w = worker;
  worker = undefined;
  if (!w) return;
  w.off("exit", fail);
  w.off("error", fail);
  for (const [id, job] of jobs) {
    jobs.delete(id);
    job.resolve(signHere(job.key, job.messages));
  }
  await w.terminate();
}
