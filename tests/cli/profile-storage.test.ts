import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeJournal, encodeJournal, ProfileStorage } from "../../cli/profile-storage.js";
import { utf8 } from "../../protocol/bytes.js";
import { ProtocolError } from "../../protocol/errors.js";
import type { WriteOp } from "../../protocol/storage.js";

const posix = process.platform !== "win32";
let base: string;
let dir: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "secure-msg-profile-"));
  dir = join(base, "profile");
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const batch: WriteOp[] = [
  { key: "header", value: utf8("h") },
  { key: "contacts/alice", value: utf8("a") },
  { key: "sessions/alice/1", value: utf8("s1") },
  { key: "old", value: null },
];

describe("ProfileStorage", () => {
  it("round-trips get, list, write and delete with nested keys", async () => {
    const s = await ProfileStorage.open(dir, { create: true });
    expect(await s.get("missing")).toBeUndefined();
    await s.write(batch);
    expect(await s.get("header")).toEqual(utf8("h"));
    expect(await s.get("sessions/alice/1")).toEqual(utf8("s1"));
    expect(await s.get("sessions")).toBeUndefined();
    expect(await s.list("")).toEqual(["contacts/alice", "header", "sessions/alice/1"]);
    expect(await s.list("se")).toEqual(["sessions/alice/1"]);
    expect(await s.list("contacts/")).toEqual(["contacts/alice"]);
    await s.write([{ key: "sessions/alice/1", value: null }]);
    expect(await s.get("sessions/alice/1")).toBeUndefined();
    expect(await s.list("sessions/")).toEqual([]);
    expect(await readdir(dir)).not.toContain(".journal");

    const again = await ProfileStorage.open(dir, { create: false });
    expect(await again.get("contacts/alice")).toEqual(utf8("a"));
  });

  it("lets the last op on a key win and copies values", async () => {
    const s = await ProfileStorage.open(dir, { create: true });
    const v = utf8("x");
    await s.write([
      { key: "k", value: v },
      { key: "k", value: utf8("y") },
    ]);
    v[0] = 0;
    expect(await s.get("k")).toEqual(utf8("y"));
  });

  it("rejects invalid keys", async () => {
    const s = await ProfileStorage.open(dir, { create: true });
    for (const key of [
      "",
      "../x",
      "a/../b",
      "/abs",
      "a//b",
      "a/",
      "a/./b",
      ".journal",
      "x.tmp",
      "a\\b",
    ]) {
      await expect(s.write([{ key, value: utf8("v") }])).rejects.toThrow(RangeError);
      await expect(s.get(key)).rejects.toThrow(RangeError);
    }
    expect(await s.list("")).toEqual([]);
  });

  it("refuses a key that would be both a file and a folder", async () => {
    const s = await ProfileStorage.open(dir, { create: true });
    await s.write([{ key: "a", value: utf8("1") }]);
    await expect(s.write([{ key: "a/b", value: utf8("2") }])).rejects.toThrow(RangeError);
    // Allowed when the same batch deletes the file first.
    await s.write([
      { key: "a/b", value: utf8("2") },
      { key: "a", value: null },
    ]);
    expect(await s.list("")).toEqual(["a/b"]);
    await expect(s.write([{ key: "a", value: utf8("3") }])).rejects.toThrow(RangeError);
  });

  it.runIf(posix)("uses mode 0700 for folders and 0600 for files", async () => {
    const s = await ProfileStorage.open(dir, { create: true });
    await s.write(batch);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, "sessions", "alice"))).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, "header"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "sessions", "alice", "1"))).mode & 0o777).toBe(0o600);
  });

  it("serialises concurrent writes", async () => {
    const s = await ProfileStorage.open(dir, { create: true });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        s.write([
          { key: `n/${i}`, value: utf8(String(i)) },
          { key: "last", value: utf8(String(i)) },
        ]),
      ),
    );
    expect(await s.list("n/")).toHaveLength(20);
    expect(await s.get("last")).toEqual(utf8("19"));
  });

  it("is NO_ACCOUNT for a missing folder without create", async () => {
    await expect(ProfileStorage.open(dir, { create: false })).rejects.toSatisfy(
      (e) => ProtocolError.is(e, "NO_ACCOUNT") && (e as Error).message.includes(dir),
    );
  });
});

describe("ProfileStorage crash recovery", () => {
  it("re-applies a complete journal on open", async () => {
    await (await ProfileStorage.open(dir, { create: true })).write([
      { key: "old", value: utf8("o") },
      { key: "header", value: utf8("stale") },
    ]);
    // A crash after the journal was renamed into place, with one op already applied.
    await writeFile(join(dir, ".journal"), encodeJournal(batch));
    await writeFile(join(dir, "header"), utf8("h"));
    const s = await ProfileStorage.open(dir, { create: false });
    expect(await s.list("")).toEqual(["contacts/alice", "header", "sessions/alice/1"]);
    expect(await s.get("sessions/alice/1")).toEqual(utf8("s1"));
    expect(await s.get("header")).toEqual(utf8("h"));
    expect(await readdir(dir)).not.toContain(".journal");
  });

  it("discards a torn or corrupted journal and applies nothing", async () => {
    const full = encodeJournal(batch);
    const corrupted = full.slice();
    corrupted[40]! ^= 1;
    for (const journal of [full.subarray(0, full.length - 5), full.subarray(0, 10), corrupted]) {
      await rm(dir, { recursive: true, force: true });
      await (await ProfileStorage.open(dir, { create: true })).write([
        { key: "old", value: utf8("o") },
      ]);
      expect(decodeJournal(journal)).toBeUndefined();
      await writeFile(join(dir, ".journal"), journal);
      const s = await ProfileStorage.open(dir, { create: false });
      expect(await s.list("")).toEqual(["old"]);
      expect(await readdir(dir)).not.toContain(".journal");
    }
  });

  it("removes temp files left by a crash", async () => {
    const s = await ProfileStorage.open(dir, { create: true });
    await s.write(batch);
    await writeFile(join(dir, ".journal.tmp"), encodeJournal(batch).subarray(0, 20));
    await writeFile(join(dir, "contacts", "bob.tmp"), utf8("half"));
    await ProfileStorage.open(dir, { create: false });
    expect(await readdir(dir)).not.toContain(".journal.tmp");
    expect(await readdir(join(dir, "contacts"))).toEqual(["alice"]);
  });

  it("round-trips the journal encoding", () => {
    expect(decodeJournal(encodeJournal(batch))).toEqual(batch);
  });
});
