/**
 * Group commit of deposits (relay/deposits.ts): concurrent deposits are written in one
 * transaction, each request still gets its own answer, and a failed write fails every
 * deposit of its batch and stores nothing.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { base64url } from "../../protocol/bytes.js";
import { envelopeId } from "../../protocol/envelope.js";
import { sha256 } from "../../protocol/kdf.js";
import { decodeReceipt, verifyReceipt } from "../../protocol/receipt.js";
import { DepositResponse, receiptBody } from "../../protocol/relay-api.js";
import { DepositBatcher } from "../../relay/deposits.js";
import { RelayError } from "../../relay/errors.js";
import { RelaySigner } from "../../relay/signer.js";
import { StoreUnavailable } from "../../relay/storage/errors.js";
import type {
  Deposit,
  DepositResult,
  RelayStore,
  SignReceipts,
} from "../../relay/storage/types.js";
import {
  deposit,
  envelopeFor,
  expectError,
  makeUser,
  patchedStore,
  relayWithUsers as relayWith,
  type TestUser,
} from "./helpers.js";
import { leaf, message } from "./store-suite.js";

let alice: TestUser;
let bob: TestUser;
let template: Uint8Array;
let sign: SignReceipts;

beforeAll(async () => {
  [alice, bob] = await Promise.all([makeUser("alice"), makeUser("bob")]);
  const signer = await RelaySigner.generate();
  sign = (bodies) => signer.signReceipts(bodies);
  template = await envelopeFor(bob, alice, "batched");
});

/** Distinct envelopes: the relay checks structure only, so the AEAD tag's last bytes can vary. */
function envelope(i: number): Uint8Array {
  const e = template.slice();
  new DataView(e.buffer).setUint32(e.length - 4, i);
  return e;
}

/** A store that records the size of every depositMany batch. */
function counting(base: RelayStore, batches: number[], fail?: () => unknown): RelayStore {
  return patchedStore(base, {
    depositMany: (items: Deposit[], max: number, sign: SignReceipts) => {
      batches.push(items.length);
      const error = fail?.();
      if (error) return Promise.reject(error);
      return base.depositMany(items, max, sign);
    },
  });
}

describe("group commit through POST /v1/messages", () => {
  it("writes concurrent deposits in one transaction, each with its own verifying receipt", async () => {
    const batches: number[] = [];
    const { app, signer, store } = await relayWith([alice, bob], {
      store: (base) => counting(base, batches),
    });
    const envelopes = Array.from({ length: 20 }, (_, i) => envelope(i));
    const answers = await Promise.all(envelopes.map((e) => deposit(app, "alice", e)));
    expect(answers.map((r) => r.status)).toEqual(envelopes.map(() => 201));
    expect(batches).toEqual([20]);
    for (const [i, res] of answers.entries()) {
      const d = DepositResponse.parse(await res.json());
      const e = envelopes[i]!;
      expect(base64url.decode(d.id)).toEqual(envelopeId(e));
      const body = receiptBody({
        id: envelopeId(e),
        to: "alice",
        envelopeHash: sha256(e),
        at: d.at,
      });
      expect(await verifyReceipt(signer.edPublic, body, base64url.decode(d.receipt))).toBe(true);
    }
    expect(await store.logSize()).toBe(2 + 20);
  });

  it("answers a repeated envelope within one batch as a duplicate of the first", async () => {
    const batches: number[] = [];
    const { app, store } = await relayWith([alice, bob], {
      store: (base) => counting(base, batches),
    });
    const e = envelope(1);
    const answers = await Promise.all([deposit(app, "alice", e), deposit(app, "alice", e)]);
    expect(batches).toEqual([2]);
    expect(answers.map((r) => r.status)).toEqual([201, 200]);
    const [first, second] = await Promise.all(
      answers.map(async (r) => DepositResponse.parse(await r.json())),
    );
    expect(second).toEqual({ ...first, duplicate: true });
    expect(await store.logSize()).toBe(3);
  });

  it("holds the mailbox quota within a batch", async () => {
    const batches: number[] = [];
    const { app, store } = await relayWith([alice, bob], {
      config: { mailboxQuota: 3 },
      store: (base) => counting(base, batches),
    });
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) => deposit(app, i % 2 ? "bob" : "alice", envelope(i))),
    );
    expect(batches).toEqual([5]);
    // alice gets deposits 0, 2, 4 (all within quota), bob 1 and 3.
    expect(answers.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    const more = await Promise.all(
      Array.from({ length: 3 }, (_, i) => deposit(app, "alice", envelope(10 + i))),
    );
    for (const r of more) await expectError(r, 429, "MAILBOX_FULL");
    expect(await store.logSize()).toBe(2 + 5);
  });

  it("signs receipts for the deposits a batch stores only, never for a refused one", async () => {
    const batches: number[] = [];
    const { app, signer } = await relayWith([alice, bob], {
      config: { mailboxQuota: 1 },
      store: (base) => counting(base, batches),
    });
    const sent = [envelope(1), envelope(2), envelope(3)];
    const answers = await Promise.all([
      deposit(app, "alice", sent[0]!),
      deposit(app, "alice", sent[1]!),
      deposit(app, "bob", sent[2]!),
    ]);
    expect(batches).toEqual([3]);
    expect(answers.map((r) => r.status)).toEqual([201, 429, 201]);
    for (const i of [0, 2]) {
      const d = DepositResponse.parse(await answers[i]!.json());
      const receipt = base64url.decode(d.receipt);
      // A batch of the two stored deposits: the refused one is not a leaf of it.
      expect(decodeReceipt(receipt).size).toBe(2);
      const body = receiptBody({
        id: envelopeId(sent[i]!),
        to: i === 0 ? "alice" : "bob",
        envelopeHash: sha256(sent[i]!),
        at: d.at,
      });
      expect(await verifyReceipt(signer.edPublic, body, receipt)).toBe(true);
    }
  });

  it("fails every deposit of a batch whose write fails with 503, and stores none of them", async () => {
    const batches: number[] = [];
    let broken = true;
    const { app, store } = await relayWith([alice, bob], {
      store: (base) =>
        counting(base, batches, () =>
          broken ? new StoreUnavailable("disk I/O error") : undefined,
        ),
    });
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => deposit(app, "alice", envelope(i))),
    );
    expect(batches).toEqual([6]);
    for (const r of answers) await expectError(r, 503, "UNAVAILABLE");
    expect(await store.logSize()).toBe(2);
    expect(await store.fetch("alice", 100, Date.now())).toEqual([]);
    broken = false;
    // Nothing was stored, so the retries are new deposits, each stored once.
    const retried = await Promise.all(
      Array.from({ length: 6 }, (_, i) => deposit(app, "alice", envelope(i))),
    );
    expect(retried.map((r) => r.status)).toEqual(Array(6).fill(201));
    expect(await store.logSize()).toBe(2 + 6);
  });
});

describe("DepositBatcher", () => {
  /** A store whose depositMany waits until released, recording each batch. */
  function gated() {
    const batches: Deposit[][] = [];
    const gates: (() => void)[] = [];
    const store = {
      depositMany(items: Deposit[], _max: number, sign: SignReceipts): Promise<DepositResult[]> {
        batches.push(items);
        return new Promise((resolve) =>
          gates.push(() => {
            const receipts = sign(items.map((d) => d.leaf));
            resolve(
              items.map((d, i) => ({
                status: "stored",
                message: { ...d.message, receipt: receipts[i]!, index: i },
              })),
            );
          }),
        );
      },
    } as unknown as RelayStore;
    /** Lets the oldest waiting write finish, once there is one. */
    const release = async () => {
      while (gates.length === 0) await new Promise((r) => setImmediate(r));
      gates.shift()!();
    };
    return { store, batches, release };
  }
  const item = (): Deposit => ({ message: message("bob"), leaf: leaf() });
  const tick = () => new Promise((r) => setImmediate(r));

  it("queues deposits that arrive while batches are in flight for the next, flushed when one is durable", async () => {
    const g = gated();
    const b = new DepositBatcher(g.store, sign, 10); // two batches in flight by default
    const first = [b.submit(item()), b.submit(item())];
    await tick();
    expect(g.batches.map((x) => x.length)).toEqual([2]);
    // A second batch starts at once: it is signed and written while the first waits.
    const second = [b.submit(item()), b.submit(item()), b.submit(item())];
    await tick();
    expect(g.batches.map((x) => x.length)).toEqual([2, 3]);
    // A third waits for one of them, and then goes as one batch.
    const third = [b.submit(item()), b.submit(item()), b.submit(item()), b.submit(item())];
    await tick();
    expect(g.batches.map((x) => x.length)).toEqual([2, 3]);
    await g.release();
    expect((await Promise.all(first)).map((r) => r.status)).toEqual(["stored", "stored"]);
    await tick();
    expect(g.batches.map((x) => x.length)).toEqual([2, 3, 4]);
    await g.release();
    await g.release();
    expect(await Promise.all([...second, ...third])).toHaveLength(7);
  });

  it("with maxInFlight 1, writes one batch at a time", async () => {
    const g = gated();
    const b = new DepositBatcher(g.store, sign, 10, { maxInFlight: 1 });
    const first = [b.submit(item()), b.submit(item())];
    await tick();
    const later = [b.submit(item()), b.submit(item()), b.submit(item())];
    await tick();
    expect(g.batches.map((x) => x.length)).toEqual([2]);
    await g.release();
    await Promise.all(first);
    await tick();
    expect(g.batches.map((x) => x.length)).toEqual([2, 3]);
    await g.release();
    expect(await Promise.all(later)).toHaveLength(3);
    expect(() => new DepositBatcher(g.store, sign, 10, { maxInFlight: 0 })).toThrow(RangeError);
  });

  it("bounds a batch in items and in envelope bytes", async () => {
    const g = gated();
    const b = new DepositBatcher(g.store, sign, 10, { maxItems: 4, maxBytes: 60, maxInFlight: 1 });
    const all = Array.from({ length: 10 }, () => b.submit(item()));
    for (let i = 0; i < 3; i++) await g.release();
    await Promise.all(all);
    expect(g.batches.map((x) => x.length)).toEqual([4, 4, 2]);
    const big = { message: message("bob", { envelope: new Uint8Array(40) }), leaf: leaf() };
    const two = [b.submit(big), b.submit({ ...big, message: { ...big.message } })];
    await g.release();
    await g.release();
    await Promise.all(two);
    expect(g.batches.slice(3).map((x) => x.length)).toEqual([1, 1]);
  });

  it("refuses deposits with 503 UNAVAILABLE while those waiting fill maxQueuedBytes", async () => {
    const g = gated();
    const b = new DepositBatcher(g.store, sign, 10, { maxInFlight: 1, maxQueuedBytes: 100 });
    const big = () => ({ message: message("bob", { envelope: new Uint8Array(40) }), leaf: leaf() });
    const writing = b.submit(big()); // taken into the first batch at once
    await tick();
    const waiting = [b.submit(big()), b.submit(big())]; // 80 bytes wait
    const refused = b.submit(big()); // 120 would pass 100
    await expect(refused).rejects.toSatisfy(
      (e: unknown) => e instanceof RelayError && e.code === "UNAVAILABLE" && e.status === 503,
    );
    await g.release();
    await writing;
    await tick();
    // The waiting ones went into the next batch: room again.
    const later = b.submit(big());
    await g.release();
    await g.release();
    expect((await Promise.all([...waiting, later])).map((r) => r.status)).toEqual([
      "stored",
      "stored",
      "stored",
    ]);
    // One deposit larger than the bound still goes when nothing waits.
    const huge = b.submit({
      message: message("bob", { envelope: new Uint8Array(500) }),
      leaf: leaf(),
    });
    await g.release();
    expect((await huge).status).toBe("stored");
    expect(() => new DepositBatcher(g.store, sign, 10, { maxQueuedBytes: 0 })).toThrow(RangeError);
  });

  it("rejects every deposit of a failed batch with its error, and goes on with the next", async () => {
    let calls = 0;
    const store = {
      depositMany(items: Deposit[]): Promise<DepositResult[]> {
        calls++;
        if (calls === 1) return Promise.reject(new StoreUnavailable("gone"));
        return Promise.resolve(items.map(() => ({ status: "quota" }) as const));
      },
    } as unknown as RelayStore;
    const b = new DepositBatcher(store, sign, 10);
    const failed = await Promise.allSettled([b.submit(item()), b.submit(item())]);
    expect(failed.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    for (const r of failed)
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailable);
    expect(await b.submit(item())).toEqual({ status: "quota" });
  });
});
