import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeJournal, encodeJournal, ProfileStorage } from "../../cli/profile-storage.js";
import { UsageError } from "../../cli/usage-error.js";
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
    await s.close();

    const again = await ProfileStorage.open(dir, { create: false });
    expect(await again.get("contacts/alice")).toEqual(utf8("a"));
    await again.close();
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
      ".lock",
      ".hidden/x",
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

/** Opens, writes and closes, as a process that then exits. */
async function writeAndClose(ops: WriteOp[]): Promise<void> {
  const s = await ProfileStorage.open(dir, { create: true });
  await s.write(ops);
  await s.close();
}

describe("ProfileStorage crash recovery", () => {
  it("re-applies a complete journal on open", async () => {
    await writeAndClose([
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
      await writeAndClose([{ key: "old", value: utf8("o") }]);
      expect(decodeJournal(journal)).toBeUndefined();
      await writeFile(join(dir, ".journal"), journal);
      const s = await ProfileStorage.open(dir, { create: false });
      expect(await s.list("")).toEqual(["old"]);
      expect(await readdir(dir)).not.toContain(".journal");
      await s.close();
    }
  });

  it("removes temp files left by a crash", async () => {
    await writeAndClose(batch);
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

/** Above Linux's largest pid_max (2^22), so no process can have it; checked where used. */
const DEAD_PID = 2 ** 22 + 12345;

async function writeLock(holder: object | string): Promise<void> {
  const text = typeof holder === "string" ? holder : JSON.stringify(holder);
  await writeFile(join(dir, ".lock"), text, { mode: 0o600 });
}

function inUse(detail: string) {
  return (e: unknown) =>
    e instanceof UsageError &&
    e.message === `the profile ${dir} is in use by another secure-msg process (${detail})`;
}

describe("ProfileStorage lock", () => {
  it("makes a second open wait, then fail with a UsageError naming the holder", async () => {
    const s = await ProfileStorage.open(dir, { create: true });
    const lock = JSON.parse(await readFile(join(dir, ".lock"), "utf8"));
    expect(lock).toEqual({ pid: process.pid, host: hostname(), started: expect.any(String) });
    if (posix) expect((await stat(join(dir, ".lock"))).mode & 0o777).toBe(0o600);
    const t0 = Date.now();
    await expect(ProfileStorage.open(dir, { create: false, lockTimeoutMs: 150 })).rejects.toSatisfy(
      inUse(`pid ${process.pid}`),
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    // The lock is never a key.
    await s.write([{ key: "k", value: utf8("v") }]);
    expect(await s.list("")).toEqual(["k"]);
    await s.close();
    await (await ProfileStorage.open(dir, { create: false, lockTimeoutMs: 0 })).close();
  });

  it("hands the profile to a waiting open when the holder closes", async () => {
    const s = await ProfileStorage.open(dir, { create: true });
    const waiting = ProfileStorage.open(dir, { create: false });
    await new Promise((r) => setTimeout(r, 120));
    await s.write([{ key: "k", value: utf8("v") }]);
    await s.close();
    const next = await waiting;
    expect(await next.get("k")).toEqual(utf8("v"));
    await next.close();
  });

  it("releases on close, after the calls already made, and refuses later calls", async () => {
    const s = await ProfileStorage.open(dir, { create: true });
    const pending = s.write([{ key: "k", value: utf8("v") }]);
    await Promise.all([s.close(), s.close(), pending]);
    expect(await readdir(dir)).toEqual(["k"]);
    await expect(s.get("k")).rejects.toThrow(/closed/);
    await expect(s.write([{ key: "k", value: null }])).rejects.toThrow(/closed/);
  });

  it("takes over a stale lock, and only one of several racing opens gets it", async () => {
    expect(() => process.kill(DEAD_PID, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
    await (await ProfileStorage.open(dir, { create: true })).close();
    const stale = { pid: DEAD_PID, host: hostname(), started: new Date(0).toISOString() };
    await writeLock(stale);
    const s = await ProfileStorage.open(dir, { create: false, lockTimeoutMs: 0 });
    expect(JSON.parse(await readFile(join(dir, ".lock"), "utf8")).pid).toBe(process.pid);
    await s.close();

    // A process that died while deleting the stale lock left its marker: the next one
    // takes over from it. A living one is waited for.
    const marker = (content: string) =>
      `.lock.${createHash("sha256").update(content).digest("hex").slice(0, 16)}`;
    await writeLock(stale);
    await writeFile(join(dir, marker(JSON.stringify(stale))), JSON.stringify(stale));
    await (await ProfileStorage.open(dir, { create: false, lockTimeoutMs: 0 })).close();
    expect(await readdir(dir)).toEqual([]);
    await writeLock(stale);
    const breaker = JSON.stringify({ pid: process.pid, host: hostname(), started: "" });
    await writeFile(join(dir, marker(JSON.stringify(stale))), breaker);
    await expect(ProfileStorage.open(dir, { create: false, lockTimeoutMs: 60 })).rejects.toSatisfy(
      inUse(`pid ${DEAD_PID}`),
    );
    await rm(join(dir, marker(JSON.stringify(stale))));

    // Opens started a little apart, so that some find the stale lock while others are
    // already taking it over.
    for (let round = 0; round < 10; round++) {
      await writeLock(stale);
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, async (_, i) => {
          await new Promise((r) => setTimeout(r, (i * round) % 5));
          return ProfileStorage.open(dir, { create: false, lockTimeoutMs: 100 });
        }),
      );
      const opened = results.filter((r) => r.status === "fulfilled");
      expect(opened).toHaveLength(1);
      for (const r of results) {
        if (r.status === "rejected") expect(r.reason).toSatisfy(inUse(`pid ${process.pid}`));
      }
      await opened[0]!.value.close();
      expect(await readdir(dir)).toEqual([]);
    }
  });

  it("waits for a lock it cannot check, and never deletes it", async () => {
    await (await ProfileStorage.open(dir, { create: true })).close();
    const lock = join(dir, ".lock");
    const cases: [object | string, string][] = [
      [
        { pid: DEAD_PID, host: "elsewhere.example", started: "" },
        `pid ${DEAD_PID} on elsewhere.example: delete ${lock} if it is not running`,
      ],
      ["", `unreadable lock: delete ${lock} if none is running`],
      ['{"pid":0}', `unreadable lock: delete ${lock} if none is running`],
    ];
    for (const [holder, detail] of cases) {
      await writeLock(holder);
      await expect(
        ProfileStorage.open(dir, { create: false, lockTimeoutMs: 60 }),
      ).rejects.toSatisfy(inUse(detail));
      expect(await readdir(dir)).toEqual([".lock"]);
    }
  });

  it("is released when the process exits, and taken over when it was killed", async () => {
    const source = fileURLToPath(new URL("../../cli/profile-storage.ts", import.meta.url));
    const child = (profile: string, wait: boolean) =>
      spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          "--input-type=module",
          "-e",
          `const { ProfileStorage } = await import(process.argv[1]);
           await ProfileStorage.open(process.argv[2], { create: true });
           console.log("locked");
           if (process.argv[3] === "wait") setInterval(() => {}, 1000);`,
          source,
          profile,
          wait ? "wait" : "exit",
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
    const exiting = child(dir, false);
    expect((await once(exiting, "close"))[0]).toBe(0);
    expect(await readdir(dir)).toEqual([]);

    const killed = child(dir, true);
    await once(killed.stdout!, "data");
    await expect(ProfileStorage.open(dir, { create: false, lockTimeoutMs: 100 })).rejects.toSatisfy(
      inUse(`pid ${killed.pid}`),
    );
    killed.kill("SIGKILL");
    await once(killed, "close");
    expect(await readdir(dir)).toEqual([".lock"]);
    await (await ProfileStorage.open(dir, { create: false, lockTimeoutMs: 0 })).close();
    expect(await readdir(dir)).toEqual([]);
  });
});
