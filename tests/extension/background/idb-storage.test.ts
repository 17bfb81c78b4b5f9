import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { IdbStorage } from "../../../extension/background/idb-storage.js";

const bytes = (...b: number[]) => Uint8Array.from(b);
let n = 0;
const open = () => IdbStorage.open(`idb-storage-test-${++n}`);

describe("IdbStorage", () => {
  it("round trips bytes, deletes, and keeps data across connections", async () => {
    const s = await open();
    expect(await s.get("a")).toBeUndefined();
    const big = new Uint8Array(64).fill(9);
    await s.write([
      { key: "a", value: bytes(1, 2, 3) },
      { key: "b/c", value: big.subarray(2, 5) },
    ]);
    expect(await s.get("a")).toEqual(bytes(1, 2, 3));
    const view = await s.get("b/c");
    expect(view).toBeInstanceOf(Uint8Array);
    expect(view).toEqual(bytes(9, 9, 9));
    expect(view!.buffer.byteLength).toBe(3); // the view's bytes, not its whole buffer
    await s.write([{ key: "a", value: null }]);
    expect(await s.get("a")).toBeUndefined();
    s.close();
    const again = await IdbStorage.open(`idb-storage-test-${n}`);
    expect(await again.get("b/c")).toEqual(bytes(9, 9, 9));
  });

  it("lists keys by prefix, in order", async () => {
    const s = await open();
    const keys = ["message/02", "contact/b", "message/01", "messages", "contact/a", "keystore"];
    await s.write(keys.map((key) => ({ key, value: bytes(1) })));
    expect(await s.list("message/")).toEqual(["message/01", "message/02"]);
    expect(await s.list("contact/")).toEqual(["contact/a", "contact/b"]);
    expect(await s.list("")).toEqual([...keys].sort());
    expect(await s.list("nothing/")).toEqual([]);
  });

  it("rejects invalid keys and values before writing anything", async () => {
    const s = await open();
    for (const key of ["", "../x", "a/../b", "/abs", "a b", "é", "x".repeat(201)])
      await expect(s.write([{ key, value: bytes(1) }]), key).rejects.toThrow(RangeError);
    await expect(
      s.write([
        { key: "ok", value: bytes(1) },
        { key: "bad..key", value: bytes(2) },
      ]),
    ).rejects.toThrow(RangeError);
    await expect(
      s.write([
        { key: "ok", value: bytes(1) },
        { key: "text", value: "not bytes" as never },
      ]),
    ).rejects.toThrow(TypeError);
    expect(await s.list("")).toEqual([]);
  });

  it("applies a batch atomically: a failure midway leaves the previous state", async () => {
    const s = await open();
    await s.write([
      { key: "a", value: bytes(1) },
      { key: "b", value: bytes(2) },
    ]);
    // The store refuses the third request of the next batch, after two were issued.
    const put = IDBObjectStore.prototype.put;
    let calls = 0;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args) {
      if (++calls === 3) throw new DOMException("quota exceeded", "QuotaExceededError");
      return put.apply(this, args);
    } as typeof put;
    try {
      await expect(
        s.write([
          { key: "a", value: bytes(10) },
          { key: "c", value: bytes(30) },
          { key: "d", value: bytes(40) },
        ]),
      ).rejects.toThrow("quota exceeded");
    } finally {
      IDBObjectStore.prototype.put = put;
    }
    expect(await s.get("a")).toEqual(bytes(1));
    expect(await s.list("")).toEqual(["a", "b"]);
    // The store works as before afterwards.
    await s.write([{ key: "a", value: bytes(5) }]);
    expect(await s.get("a")).toEqual(bytes(5));
  });

  it("an empty batch is a no-op", async () => {
    const s = await open();
    await s.write([]);
    expect(await s.list("")).toEqual([]);
  });
});
