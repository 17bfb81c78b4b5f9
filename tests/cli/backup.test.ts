/**
 * `secure-msg backup export|import`, run as the compiled CLI (global-setup.ts builds
 * dist/), passwords in the environment, children detached so nothing can prompt.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, it } from "vitest";
import { armor } from "../../protocol/armor.js";
import { cliRunner } from "./run.js";

const PASSWORD = "correct horse battery staple";
const BACKUP_PASSWORD = "a long backup passphrase";

const { cli, ok } = cliRunner({
  SECURE_MSG_PASSWORD: PASSWORD,
  SECURE_MSG_BACKUP_PASSWORD: BACKUP_PASSWORD,
  SECURE_MSG_KDF: "1024,1,1",
});

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "secure-msg-backup-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** Alice and Bob who exchanged one message each way; Alice verified Bob. */
async function pair() {
  const dir = await mkdtemp(join(root, "t-"));
  const alice = join(dir, "alice");
  const bob = join(dir, "bob");
  await Promise.all([
    ok(["init", "--profile", alice, "--name", "alice"]),
    ok(["init", "--profile", bob, "--name", "bob"]),
  ]);
  await ok(["contacts", "add", "--profile", alice], {
    input: (await ok(["bundle", "--profile", bob])).stdout,
  });
  await ok(["contacts", "add", "--profile", bob], {
    input: (await ok(["bundle", "--profile", alice])).stdout,
  });
  await ok(["contacts", "verify", "--profile", alice, "bob"]);
  const hello = (await ok(["encrypt", "--profile", alice, "--to", "bob"], { input: "hello bob" }))
    .stdout;
  await ok(["decrypt", "--profile", bob], { input: hello });
  const back = (await ok(["encrypt", "--profile", bob, "--to", "alice"], { input: "hi alice" }))
    .stdout;
  await ok(["decrypt", "--profile", alice], { input: back });
  return { dir, alice, bob, firstLength: hello.length };
}

describe.concurrent("secure-msg backup", () => {
  it("exports 0600, imports into a new profile, and the restored profile starts new sessions", async ({
    expect,
  }) => {
    const { dir, alice, bob, firstLength } = await pair();
    const file = join(dir, "alice.backup");
    const exported = await ok(["backup", "export", "--profile", alice, "--out", file]);
    expect(exported.stdout).toMatch(/^address: alice$/m);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const bytes = await readFile(file);
    expect(bytes.subarray(0, 8).toString("latin1")).toBe("SMSGBKP\n");
    for (const secret of ["alice", "bob", "hello bob", "hi alice", BACKUP_PASSWORD, PASSWORD])
      expect(bytes.includes(Buffer.from(secret)), secret).toBe(false);

    const restored = join(dir, "restored");
    const imported = await ok(["backup", "import", "--profile", restored, "--in", file], {
      env: { SECURE_MSG_PASSWORD: "the new profile password" },
    });
    expect(imported.stdout).toMatch(/^contacts: 1$/m);
    expect(imported.stdout).toMatch(/^messages: 2$/m);
    expect(imported.stdout).toMatch(/^sessions: 1 \(receive only\)$/m);
    expect(imported.stderr).toMatch(/starts a new session/);
    const env = { SECURE_MSG_PASSWORD: "the new profile password" };
    const who = (p: string, e?: Record<string, string>) =>
      ok(["whoami", "--profile", p], e ? { env: e } : {});
    expect((await who(restored, env)).stdout).toBe((await who(alice)).stdout);
    const list = await ok(["contacts", "list", "--profile", restored, "--json"], { env });
    expect(JSON.parse(list.stdout)).toMatchObject([{ name: "bob", verified: true }]);
    // The profile opens only with its own password now.
    expect((await cli(["whoami", "--profile", restored])).code).toBe(1);

    const after = (
      await ok(["encrypt", "--profile", restored, "--to", "bob"], { env, input: "after restore" })
    ).stdout;
    expect(after.length).toBeGreaterThan(firstLength / 2); // a first message: a new session
    expect(await cli(["decrypt", "--profile", bob], { input: after })).toMatchObject({
      code: 0,
      stdout: "after restore",
    });
  });

  it("never overwrites: an existing --out or profile is refused and left alone", async ({
    expect,
  }) => {
    const { dir, alice, bob } = await pair();
    const taken = join(dir, "taken");
    await writeFile(taken, "keep me");
    const r = await cli(["backup", "export", "--profile", alice, "--out", taken]);
    expect(r.code).toBe(2);
    const nowhere = join(dir, "no-such-folder", "b");
    const n = await cli(["backup", "export", "--profile", alice, "--out", nowhere]);
    expect(n).toMatchObject({ code: 2 });
    expect(n.stderr).toMatch(/cannot write in/);
    expect(await readFile(taken, "utf8")).toBe("keep me");
    const file = join(dir, "b");
    await ok(["backup", "export", "--profile", alice, "--out", file]);
    const before = (await ok(["whoami", "--profile", bob])).stdout;
    const into = await cli(["backup", "import", "--profile", bob, "--in", file]);
    expect(into.code).toBe(1);
    expect(into.stderr).toMatch(/ACCOUNT_EXISTS/);
    expect((await ok(["whoami", "--profile", bob])).stdout).toBe(before);
  });

  it("a full disk leaves no partial backup file behind", async ({ expect, skip }) => {
    const dir = await mkdtemp(join(root, "t-"));
    const alice = join(dir, "alice");
    await ok(["init", "--profile", alice, "--name", "alice"]);
    const full = join(dir, "full");
    await mkdir(full);
    const run = promisify(execFile);
    // One page: the temporary file is created, then its write fails with ENOSPC.
    if (await run("mount", ["-t", "tmpfs", "-o", "size=4k", "tmpfs", full]).catch(() => false))
      try {
        const r = await cli(["backup", "export", "--profile", alice, "--out", join(full, "b")]);
        expect(r.code).not.toBe(0);
        expect(await readdir(full)).toEqual([]);
      } finally {
        await run("umount", ["-l", full]);
      }
    else skip("cannot mount a tmpfs here");
  });

  it("says why a backup does not open, and leaves no profile behind", async ({ expect }) => {
    const { dir, alice } = await pair();
    const file = join(dir, "b");
    await ok(["backup", "export", "--profile", alice, "--out", file]);
    const target = join(dir, "new");
    const wrong = await cli(["backup", "import", "--profile", target, "--in", file], {
      env: { SECURE_MSG_BACKUP_PASSWORD: "not the backup password" },
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/WRONG_PASSWORD/);
    expect(wrong.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(await exists(target)).toBe(false);

    const bytes = await readFile(file);
    const damaged = join(dir, "damaged");
    bytes[bytes.length - 20]! ^= 1;
    await writeFile(damaged, bytes);
    const t = await cli(["backup", "import", "--profile", target, "--in", damaged]);
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/TAMPERED/);
    const notBackup = join(dir, "note.txt");
    await writeFile(notBackup, "just some text\n");
    const n = await cli(["backup", "import", "--profile", target, "--in", notBackup]);
    expect(n.code).toBe(1);
    expect(n.stderr).toMatch(/BAD_ARMOR|BAD_ENCODING/);
    expect(await exists(target)).toBe(false);

    // Armor of the same file is accepted.
    const armored = join(dir, "armored");
    await writeFile(armored, armor("BACKUP", new Uint8Array(await readFile(file))));
    await ok(["backup", "import", "--profile", target, "--in", armored]);
  });

  it("asks for a backup password of at least 10 characters", async ({ expect }) => {
    const { dir, alice } = await pair();
    const file = join(dir, "b");
    const r = await cli(["backup", "export", "--profile", alice, "--out", file], {
      env: { SECURE_MSG_BACKUP_PASSWORD: "short" },
    });
    expect(r.code).toBe(2);
    expect(await exists(file)).toBe(false);
    const none = await cli(["backup", "export", "--profile", alice, "--out", file], {
      env: { SECURE_MSG_BACKUP_PASSWORD: undefined },
    });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/SECURE_MSG_BACKUP_PASSWORD/);
  });
});
