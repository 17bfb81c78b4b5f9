import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_PLAINTEXT_BYTES } from "../../cli/commands.js";
import { describeError, exitCodeOf } from "../../cli/exit.js";
import { UsageError } from "../../cli/usage-error.js";
import { ProtocolError } from "../../protocol/errors.js";
import { cliRunner, ROOT, type Run, spawnRun } from "./run.js";

const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "tr0ub4dor & 3 more words";
const SAFETY_NUMBER = /^safety number: ((?:\d{5} ){11}\d{5})$/m;

/** `secure-msg ARGS` with the test password and the cheap KDF unless `env` overrides. */
const { cli, ok } = cliRunner({ SECURE_MSG_PASSWORD: PASSWORD, SECURE_MSG_KDF: "1024,1,1" });

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "secure-msg-cli-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh folder for one test's profiles. */
async function folder(): Promise<string> {
  return mkdtemp(join(root, "t-"));
}

async function init(dir: string, name: string): Promise<string> {
  const profile = join(dir, name);
  await ok(["init", "--profile", profile, "--name", name]);
  return profile;
}

/** Two profiles that imported each other's bundle (bob's from a file, alice's on stdin). */
async function pair(dir: string): Promise<{ alice: string; bob: string }> {
  const [alice, bob] = await Promise.all([init(dir, "alice"), init(dir, "bob")]);
  const file = join(dir, "bob.bundle");
  await writeFile(file, (await ok(["bundle", "--profile", bob])).stdout);
  await ok(["contacts", "add", "--profile", alice, file]);
  await ok(["contacts", "add", "--profile", bob], {
    input: (await ok(["bundle", "--profile", alice])).stdout,
  });
  return { alice, bob };
}

async function encrypt(profile: string, to: string, text: string, compact = false) {
  return (
    await ok(["encrypt", "--profile", profile, "--to", to, ...(compact ? ["--compact"] : [])], {
      input: text,
    })
  ).stdout;
}

function decrypt(profile: string, armor: string): Promise<Run> {
  return cli(["decrypt", "--profile", profile], { input: armor });
}

/** Replaces one base64 character in the middle of a block armor's body. */
function tamper(armor: string): string {
  const lines = armor.split("\n");
  const i = Math.floor((lines.length - 2) / 2); // a full body line, not the last one
  const line = lines[i]!;
  const j = Math.floor(line.length / 2);
  lines[i] = line.slice(0, j) + (line[j] === "A" ? "B" : "A") + line.slice(j + 1);
  return lines.join("\n");
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe.concurrent("secure-msg", () => {
  it("runs a conversation between two profiles and keeps nothing readable at rest", async ({
    expect,
  }) => {
    const dir = await folder();
    const [alice, bob] = await Promise.all([init(dir, "alice"), init(dir, "bob")]);
    const who = await ok(["whoami", "--profile", bob]);
    expect(who.stdout).toMatch(/^name: bob\naddress: bob\nfingerprint: [0-9a-f ]{79}\n$/);
    const bobFingerprint = /^fingerprint: (.*)$/m.exec(who.stdout)![1]!;

    // Bundles: bob's through a file, alice's on stdin.
    const file = join(dir, "bob.bundle");
    await writeFile(file, (await ok(["bundle", "--profile", bob])).stdout);
    const added = await ok(["contacts", "add", "--profile", alice, file]);
    expect(added.stdout).toContain("name: bob\n");
    expect(added.stdout).toContain(`fingerprint: ${bobFingerprint}\n`);
    expect(added.stderr).toContain("new contact: bob (NOT verified");
    const aliceBundle = (await ok(["bundle", "--profile", alice])).stdout;
    expect(aliceBundle).toMatch(/^-----BEGIN SECURE-MSG BUNDLE-----\n/);
    expect(
      (await ok(["contacts", "add", "--profile", bob], { input: aliceBundle })).stdout,
    ).toContain("name: alice\n");

    const first = await encrypt(alice, "bob", "purple-elephant-42 says hi");
    expect(first).toMatch(
      /^-----BEGIN SECURE-MSG MESSAGE-----\n[\s\S]*-----END SECURE-MSG MESSAGE-----\n$/,
    );
    const r1 = await decrypt(bob, first);
    expect(r1).toMatchObject({ code: 0, stdout: "purple-elephant-42 says hi" });
    // bob imported alice's bundle, so she is not a new contact, and she is not verified.
    expect(r1.stderr).toBe(
      `from alice (NOT verified: compare safety numbers with 'secure-msg fingerprint --profile ${bob} alice')\n`,
    );

    const later: string[] = [];
    const say = async (from: string, to: string, toName: string, text: string) => {
      const armor = await encrypt(from, toName, text);
      later.push(armor);
      const r = await decrypt(to, armor);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(text);
      return r;
    };
    await say(alice, bob, "bob", "orange-giraffe-17");
    expect((await say(bob, alice, "alice", "teal-walrus-99\n")).stderr).toMatch(
      /^from bob \(NOT verified/,
    );
    await say(bob, alice, "alice", "multi\nline, ünïcødé 🟣, no trailing newline");
    await say(alice, bob, "bob", "  leading and trailing spaces   ");

    // After comparing the safety number, bob marks alice verified.
    expect((await ok(["contacts", "verify", "--profile", bob, "alice"])).stdout).toMatch(
      SAFETY_NUMBER,
    );
    expect((await say(alice, bob, "bob", "magenta-otter-7")).stderr).toBe(
      "from alice (verified)\n",
    );

    for (const armor of later) expect(armor.length).toBeLessThan(first.length / 5);

    // At rest: no plaintext, no contact name, no password in any file of either profile.
    const files = [...(await filesUnder(alice)), ...(await filesUnder(bob))];
    expect(files.length).toBeGreaterThan(4);
    // File names are blinded record keys, so they do not name contacts either.
    for (const f of files)
      expect(relative(dir, f).split(sep).slice(1).join("/")).not.toMatch(/alice|bob/);
    const needles = [
      "purple-elephant-42",
      "orange-giraffe-17",
      "teal-walrus-99",
      "magenta-otter-7",
      "ünïcødé",
      "alice",
      // "bob" alone is 3 bytes, which random ciphertext contains by chance about once per
      // 16 MiB; look for it in the encodings a leak would use: a JSON string, a u16 prefix.
      '"bob"',
      "\u0000\u0003bob",
      PASSWORD,
    ].map((s) => Buffer.from(s, "utf8"));
    for (const f of files) {
      const bytes = await readFile(f);
      for (const n of needles) expect(bytes.includes(n), `${f} contains ${n}`).toBe(false);
    }
  });

  it("refuses a replayed message and prints nothing", async ({ expect }) => {
    const { alice, bob } = await pair(await folder());
    const first = await encrypt(alice, "bob", "once only");
    expect((await decrypt(bob, first)).code).toBe(0);
    const again = await decrypt(bob, first);
    expect(again).toMatchObject({ code: 1, stdout: "" });
    expect(again.stderr).toMatch(/^secure-msg: .*\(REPLAY\)\n$/);
    const second = await encrypt(alice, "bob", "also once");
    expect((await decrypt(bob, second)).code).toBe(0);
    expect(await decrypt(bob, second)).toMatchObject({ code: 1, stdout: "" });
  });

  it("refuses tampered armor, and the genuine message still decrypts", async ({ expect }) => {
    const { alice, bob } = await pair(await folder());
    for (const text of ["first secret", "second secret"]) {
      const armor = await encrypt(alice, "bob", text);
      const bad = await decrypt(bob, tamper(armor));
      expect(bad).toMatchObject({ code: 1, stdout: "" });
      expect(bad.stderr).toMatch(/^secure-msg: .*\((TAMPERED|BAD_SIGNATURE|BAD_ENCODING)\)\n$/);
      expect(await decrypt(bob, armor)).toMatchObject({ code: 0, stdout: text });
    }
  });

  it("tells a third profile that a message is not for it", async ({ expect }) => {
    const dir = await folder();
    const [{ alice, bob }, carol] = await Promise.all([pair(dir), init(dir, "carol")]);
    const first = await encrypt(bob, "alice", "for alice only");
    const notMine = await decrypt(carol, first);
    expect(notMine).toMatchObject({ code: 1, stdout: "" });
    expect(notMine.stderr).toMatch(/not for this profile.*\(NOT_FOR_ME\)\n$/);
    expect((await decrypt(alice, first)).code).toBe(0);
    const later = await decrypt(carol, await encrypt(bob, "alice", "still for alice"));
    expect(later).toMatchObject({ code: 1, stdout: "" });
    expect(later.stderr).toMatch(/not for this profile.*\(NO_SESSION\)\n$/);

    // A first message from someone carol never imported: a new contact, who can be answered.
    const carolBundle = (await ok(["bundle", "--profile", carol])).stdout;
    await ok(["contacts", "add", "--profile", alice], { input: carolBundle });
    const hello = await decrypt(carol, await encrypt(alice, "carol", "hi carol"));
    expect(hello.stdout).toBe("hi carol");
    expect(hello.stderr).toMatch(/^new contact: alice\nfrom alice \(NOT verified/);
    const reply = await decrypt(alice, await encrypt(carol, "alice", "hi alice"));
    expect(reply).toMatchObject({ code: 0, stdout: "hi alice" });
    expect(reply.stderr).not.toContain("new contact");
  });

  it("needs the right password, and passwd changes it", async ({ expect }) => {
    const { alice, bob } = await pair(await folder());
    const wrong = await cli(["whoami", "--profile", bob], {
      env: { SECURE_MSG_PASSWORD: "not it at all" },
    });
    expect(wrong).toMatchObject({ code: 1, stdout: "" });
    expect(wrong.stderr).toBe("secure-msg: wrong password (WRONG_PASSWORD)\n");

    const pending = await encrypt(alice, "bob", "sent before passwd");
    const bad = await cli(["passwd", "--profile", bob], {
      env: { SECURE_MSG_PASSWORD: "not it at all", SECURE_MSG_NEW_PASSWORD: NEW_PASSWORD },
    });
    expect(bad.code).toBe(1);
    const short = await cli(["passwd", "--profile", bob], {
      env: { SECURE_MSG_NEW_PASSWORD: "short" },
    });
    expect(short.code).toBe(2);
    await ok(["passwd", "--profile", bob], { env: { SECURE_MSG_NEW_PASSWORD: NEW_PASSWORD } });

    expect((await cli(["whoami", "--profile", bob])).stderr).toContain("(WRONG_PASSWORD)");
    const withNew = { env: { SECURE_MSG_PASSWORD: NEW_PASSWORD } };
    expect((await cli(["decrypt", "--profile", bob], { ...withNew, input: pending })).stdout).toBe(
      "sent before passwd",
    );
    const after = await encrypt(alice, "bob", "sent after passwd");
    expect((await cli(["decrypt", "--profile", bob], { ...withNew, input: after })).stdout).toBe(
      "sent after passwd",
    );
    const reply = (
      await ok(["encrypt", "--profile", bob, "--to", "alice"], { ...withNew, input: "ack" })
    ).stdout;
    expect((await decrypt(alice, reply)).stdout).toBe("ack");
  });

  it("exits 2 on usage errors", async ({ expect }) => {
    const dir = await folder();
    const alice = await init(dir, "alice");
    const cases: [string[], RegExp, Parameters<typeof cli>[1]?][] = [
      [["whoami"], /required option '--profile <dir>'/],
      [["frobnicate"], /unknown command 'frobnicate'/],
      [[], /Usage: secure-msg/],
      [["encrypt", "--profile", alice, "--to", "zed"], /\(UNKNOWN_CONTACT\)/, { input: "x" }],
      [["fingerprint", "--profile", alice, "zed"], /\(UNKNOWN_CONTACT\)/],
      [["whoami", "--profile", join(dir, "nowhere")], /no profile folder.*\(NO_ACCOUNT\)/],
      [
        ["init", "--profile", join(dir, "c"), "--name", "carol"],
        /at least 10 characters/,
        { env: { SECURE_MSG_PASSWORD: "short" } },
      ],
      [["init", "--profile", join(dir, "c"), "--name", "Carol Smith"], /\(INVALID_ARGUMENT\)/],
      [
        ["init", "--profile", join(dir, "c"), "--name", "carol"],
        /SECURE_MSG_KDF/,
        { env: { SECURE_MSG_KDF: "lots" } },
      ],
      [
        ["init", "--profile", join(dir, "c"), "--name", "carol"],
        /\(INVALID_ARGUMENT\)/,
        { env: { SECURE_MSG_KDF: "1024,100,1" } },
      ],
      [
        ["whoami", "--profile", alice],
        /set SECURE_MSG_PASSWORD/,
        { env: { SECURE_MSG_PASSWORD: undefined } },
      ],
      [["contacts", "add", "--profile", alice, join(dir, "missing.bundle")], /no such file/],
      [["contacts", "add", "--profile", alice, "a", "b"], /too many arguments/],
    ];
    const results = await Promise.all(cases.map(([args, , opts]) => cli(args, opts)));
    results.forEach((r, i) => {
      expect({ args: cases[i]![0], code: r.code, stdout: r.stdout }).toEqual({
        args: cases[i]![0],
        code: 2,
        stdout: "",
      });
      expect(r.stderr).toMatch(cases[i]![1]);
      expect(r.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/); // no stack trace
    });
    // None of the failed inits left a folder behind.
    expect((await readdir(dir)).sort()).toEqual(["alice"]);

    // SECURE_MSG_PROFILE stands in for --profile.
    expect((await ok(["whoami"], { env: { SECURE_MSG_PROFILE: alice } })).stdout).toContain(
      "name: alice",
    );
    const exists = await cli(["init", "--profile", alice, "--name", "alice"]);
    expect(exists.code).toBe(1);
    expect(exists.stderr).toMatch(/already exists.*\(ACCOUNT_EXISTS\)\n$/);
  });

  it("exits 2 on usage errors of the relay commands", async ({ expect }) => {
    const dir = await folder();
    const alice = await init(dir, "alice"); // no relay
    // Port 9 (discard) on loopback: nothing listens there, so a relay is never reached.
    const relay = "http://127.0.0.1:9";
    const carol = join(dir, "carol");
    await ok(["init", "--profile", carol, "--name", "carol", "--relay", relay]);
    const cases: [string[], RegExp, Parameters<typeof cli>[1]?][] = [
      [["init", "--profile", join(dir, "d"), "--name", "d", "--relay", "ftp://x"], /relay URL/],
      [["init", "--profile", join(dir, "d"), "--name", "d", "--relay", "nope"], /not a valid URL/],
      [["register", "--profile", alice], /no relay: create a profile with 'init --relay URL'/],
      [["register", "--profile", alice, "--relay", relay], /create the profile with 'init --relay/],
      [["register", "--profile", carol, "--relay", "http://127.0.0.1:10"], /relay is http/],
      [["register"], /required option '--profile <dir>'/],
      [["send", "--profile", alice], /required option '--to <address>'/, { input: "x" }],
      [
        ["send", "--profile", alice, "--to", "bob"],
        /no contact bob.*\(UNKNOWN_CONTACT\)/,
        { input: "x" },
      ],
      [["send", "--profile", alice, "--to", "Bob Smith"], /\(INVALID_ARGUMENT\)/, { input: "x" }],
      [["send", "--profile", carol, "--to", "bob"], /stdin is empty/],
      [["inbox", "--profile", alice], /no relay/],
      [["inbox", "--profile", alice, "--watch", "--frob"], /unknown option '--frob'/],
      [["outbox", "--profile", alice, "extra"], /too many arguments/],
      [["contacts", "add", "--profile", alice, "bob"], /cannot read bob: no such file/],
    ];
    const results = await Promise.all(cases.map(([args, , opts]) => cli(args, opts)));
    results.forEach((r, i) => {
      expect({ args: cases[i]![0], code: r.code, stdout: r.stdout }).toEqual({
        args: cases[i]![0],
        code: 2,
        stdout: "",
      });
      expect(r.stderr).toMatch(cases[i]![1]);
    });
    expect((await readdir(dir)).sort()).toEqual(["alice", "carol"]);
    const empty = await ok(["outbox", "--profile", alice]);
    expect(empty).toMatchObject({ stdout: "", stderr: "the outbox is empty\n" });
    expect((await ok(["whoami", "--profile", carol])).stdout).toContain(
      "address: carol@127.0.0.1:9\n",
    );
  });

  it("exits 1 when the relay cannot be reached, and queues what it can", async ({ expect }) => {
    const dir = await folder();
    const carol = join(dir, "carol");
    await ok(["init", "--profile", carol, "--name", "carol", "--relay", "http://127.0.0.1:9"]);
    const unreachable =
      /cannot reach the relay at http:\/\/127\.0\.0\.1:9 \(RELAY_UNAVAILABLE\)\n$/;
    for (const args of [
      ["register", "--profile", carol],
      ["inbox", "--profile", carol],
      ["contacts", "add", "--profile", carol, "bob@127.0.0.1:9"],
      ["send", "--profile", carol, "--to", "bob@127.0.0.1:9"],
    ]) {
      const r = await cli(args, { input: "hello" });
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 1, stdout: "" });
      expect(r.stderr).toMatch(unreachable);
    }
    // A contact known from a bundle file: the message is encrypted and queued (exit 0).
    const bob = join(dir, "bob");
    await ok(["init", "--profile", bob, "--name", "bob", "--relay", "http://127.0.0.1:9"]);
    await ok(["contacts", "add", "--profile", carol], {
      input: (await ok(["bundle", "--profile", bob])).stdout,
    });
    const queued = await cli(["send", "--profile", carol, "--to", "bob"], { input: "later" });
    expect(queued.code).toBe(0);
    expect(queued.stdout).toMatch(/^[0-9a-f]{32}\n$/);
    expect(queued.stderr).toMatch(/^queued \(relay unreachable: cannot reach the relay at /);
    const listed = await ok(["outbox", "--profile", carol, "--flush"]);
    expect(listed.stdout).toMatch(
      /^bob@127\.0\.0\.1:9 {2}http:\/\/127\.0\.0\.1:9 {2}2 attempts {2}[0-9a-f]{32}\n$/,
    );
    expect(listed.stderr).toContain("sent 0, still queued 1, refused 0");
  });

  it("checks what it encrypts", async ({ expect }) => {
    const { alice, bob } = await pair(await folder());
    const run = (input: string | Buffer) =>
      cli(["encrypt", "--profile", alice, "--to", "bob"], { input });
    expect(await run(Buffer.from([0x68, 0xff, 0x69]))).toMatchObject({ code: 2, stdout: "" });
    expect((await run(Buffer.from([0x68, 0xff]))).stderr).toMatch(/UTF-8/);
    expect((await run("")).stderr).toMatch(/stdin is empty/);
    const big = await run("x".repeat(MAX_PLAINTEXT_BYTES + 1));
    expect(big).toMatchObject({ code: 2, stdout: "" });
    // The largest accepted plaintext, in a first message (the largest overhead), decrypts.
    const largest = "é".repeat(MAX_PLAINTEXT_BYTES / 2);
    expect((await decrypt(bob, await encrypt(alice, "bob", largest))).stdout).toBe(largest);
  });

  it("refuses a changed identity key unless told to accept it", async ({ expect }) => {
    const dir = await folder();
    const { alice } = await pair(dir);
    const impostor = await init(await folder(), "bob");
    const bundle = (await ok(["bundle", "--profile", impostor])).stdout;
    const refused = await cli(["contacts", "add", "--profile", alice], { input: bundle });
    expect(refused).toMatchObject({ code: 1, stdout: "" });
    expect(refused.stderr).toMatch(
      /^secure-msg: WARNING: the identity key of bob changed.*--accept-changed.*\(IDENTITY_CHANGED\)\n$/,
    );
    // A first message from the new key is refused too.
    await ok(["contacts", "add", "--profile", impostor], {
      input: (await ok(["bundle", "--profile", alice])).stdout,
    });
    const fake = await encrypt(impostor, "alice", "it is me, really");
    expect(await decrypt(alice, fake)).toMatchObject({ code: 1, stdout: "" });

    const accepted = await cli(["contacts", "add", "--profile", alice, "--accept-changed"], {
      input: bundle,
    });
    expect(accepted.code).toBe(0);
    expect(accepted.stderr).toMatch(/accepted a NEW identity key for bob \(NOT verified/);
    const newFingerprint = /^fingerprint: (.*)$/m.exec(
      (await ok(["whoami", "--profile", impostor])).stdout,
    )![1];
    expect((await ok(["fingerprint", "--profile", alice, "bob"])).stdout).toContain(
      `fingerprint: ${newFingerprint}\n`,
    );
    expect((await decrypt(alice, fake)).stdout).toBe("it is me, really");
  });

  it("lists contacts and shows the same safety number on both sides", async ({ expect }) => {
    const { alice, bob } = await pair(await folder());
    const list = JSON.parse((await ok(["contacts", "list", "--profile", alice, "--json"])).stdout);
    const bobFingerprint = /^fingerprint: (.*)$/m.exec(
      (await ok(["whoami", "--profile", bob])).stdout,
    )![1];
    expect(list).toEqual([
      { address: "bob", name: "bob", relay: "", fingerprint: bobFingerprint, verified: false },
    ]);
    expect((await ok(["contacts", "list", "--profile", alice])).stdout).toMatch(
      /^bob {2}unverified {2}[0-9a-f ]{79}\n$/,
    );

    const [a, b] = await Promise.all([
      ok(["fingerprint", "--profile", alice, "bob"]),
      ok(["fingerprint", "--profile", bob, "alice"]),
    ]);
    const number = SAFETY_NUMBER.exec(a.stdout)?.[1];
    expect(number).toBeDefined();
    expect(SAFETY_NUMBER.exec(b.stdout)?.[1]).toBe(number);
    expect(a.stdout).toContain(`fingerprint: ${bobFingerprint}\n`);

    await ok(["contacts", "verify", "--profile", alice, "bob"]);
    const after = JSON.parse((await ok(["contacts", "list", "--profile", alice, "--json"])).stdout);
    expect(after[0].verified).toBe(true);
  });

  it("lets one process at a time use a profile", async ({ expect }) => {
    const { alice, bob } = await pair(await folder());
    expect((await decrypt(bob, await encrypt(alice, "bob", "first"))).code).toBe(0);
    const second = await encrypt(alice, "bob", "second");
    const third = await encrypt(alice, "bob", "third");
    // Run together, one waits for the other, and both store what they decrypted.
    const [r2, r3] = await Promise.all([decrypt(bob, second), decrypt(bob, third)]);
    expect(r2).toMatchObject({ code: 0, stdout: "second" });
    expect(r3).toMatchObject({ code: 0, stdout: "third" });
    for (const armor of [second, third]) expect((await decrypt(bob, armor)).code).toBe(1);
    expect(await readdir(bob)).not.toContain(".lock");

    // A lock left by a process that died (no process has this pid) is taken over.
    const lock = join(bob, ".lock");
    await writeFile(lock, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), started: "" }));
    expect(await decrypt(bob, await encrypt(alice, "bob", "fourth"))).toMatchObject({
      code: 0,
      stdout: "fourth",
    });
    // A lock of a living process (this test runner) is waited for until it goes.
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), started: "" }));
    const waiting = decrypt(bob, await encrypt(alice, "bob", "fifth"));
    await new Promise((r) => setTimeout(r, 1000));
    await rm(lock);
    expect(await waiting).toMatchObject({ code: 0, stdout: "fifth" });
    expect(await readdir(bob)).not.toContain(".lock");
  });

  it("writes one-line armor with --compact", async ({ expect }) => {
    const { alice, bob } = await pair(await folder());
    for (const text of ["compact first", "compact second"]) {
      const armor = await encrypt(alice, "bob", text, true);
      expect(armor).toMatch(/^SECURE-MSG:MESSAGE:[A-Za-z0-9_-]+\n$/);
      expect(await decrypt(bob, armor)).toMatchObject({ code: 0, stdout: text });
    }
  });

  it("starts a new session with contacts reset", async ({ expect }) => {
    const { alice, bob } = await pair(await folder());
    const first = await encrypt(alice, "bob", "first");
    expect((await decrypt(bob, first)).code).toBe(0);
    const second = await encrypt(alice, "bob", "second");
    expect(second.length).toBeLessThan(first.length / 5);
    expect((await decrypt(bob, second)).code).toBe(0);
    const reset = await cli(["contacts", "reset", "--profile", alice, "bob"]);
    expect(reset).toMatchObject({ code: 0 });
    expect(reset.stderr).toMatch(/starts a new session/);
    const fresh = await encrypt(alice, "bob", "after the reset");
    expect(fresh.length).toBeGreaterThan(first.length / 2); // a first message again
    expect(await decrypt(bob, fresh)).toMatchObject({ code: 0, stdout: "after the reset" });
  });

  it("runs through npx from the repository", async ({ expect }) => {
    const r = await spawnRun("npx", ["--no-install", "secure-msg", "--help"], { cwd: ROOT });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: secure-msg /);
    expect(r.stdout).toContain("SECURE_MSG_PASSWORD");
  });
});

describe("exit codes", () => {
  it("maps errors to 1, 2 and 70, in one line without internals", () => {
    expect(exitCodeOf(new ProtocolError("TAMPERED", "x"))).toBe(1);
    expect(exitCodeOf(new ProtocolError("WRONG_PASSWORD", "x"))).toBe(1);
    expect(exitCodeOf(new ProtocolError("UNKNOWN_CONTACT", "x"))).toBe(2);
    expect(exitCodeOf(new ProtocolError("NO_ACCOUNT", "x"))).toBe(2);
    expect(exitCodeOf(new UsageError("x"))).toBe(2);
    const bug = new TypeError("secret detail\nat somewhere");
    expect(exitCodeOf(bug)).toBe(70);
    expect(describeError(bug)).toBe("secure-msg: internal error (TypeError)");
    const abort = Object.assign(new Error("aborted"), { code: "ABORTED" });
    expect([exitCodeOf(abort), describeError(abort)]).toEqual([130, "secure-msg: aborted"]);
    expect(describeError(new ProtocolError("NOT_FOR_ME", "prekey 42 unknown"))).toBe(
      "secure-msg: this message is not for this profile (NOT_FOR_ME)",
    );
  });
});
