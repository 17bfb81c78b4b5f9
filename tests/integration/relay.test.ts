/**
 * The CLI against real relay processes on 127.0.0.1, as a user runs it (issue 3): two
 * users exchange messages (over SSE too), a user of a second relay joins (federation), a
 * relay restart and a relay outage lose nothing, and a relay whose keys changed is refused.
 * The tests of the first describe run in order and share relay A and the profiles.
 */
import { mkdtemp, rm, stat, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, killAll, ok, type RelayProcess, startRelay, watch } from "./helpers.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "secure-msg-integration-"));
});
afterAll(async () => {
  killAll();
  await rm(root, { recursive: true, force: true });
});

const profile = (name: string) => join(root, "profiles", name);

/** Creates a profile at `relay` and registers it; returns the profile folder. */
async function user(name: string, relay: RelayProcess): Promise<string> {
  const dir = profile(name);
  await ok(["init", "--profile", dir, "--name", name, "--relay", relay.url]);
  const r = await ok(["register", "--profile", dir]);
  expect(r.stdout).toContain(`relay fingerprint: ${relay.fingerprint}\n`);
  return dir;
}

const send = (from: string, to: string, text: string) =>
  cli(["send", "--profile", from, "--to", to], { input: text });

async function inbox(dir: string): Promise<{ from: string; text: string }[]> {
  const r = await ok(["inbox", "--profile", dir, "--json"]);
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe.sequential("secure-msg over relays", () => {
  let a: RelayProcess;
  let dataA: string;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    dataA = join(root, "relay-a");
    a = await startRelay(dataA);
    [alice, bob] = await Promise.all([user("alice", a), user("bob", a)]);
  });
  afterAll(async () => {
    await a?.stop("SIGKILL");
  });

  it("exchanges messages both ways, and delivers them over SSE to inbox --watch", async () => {
    const watcher = watch(bob);
    const texts = ["first over the relay", "second, ünïcødé 🟣", "third\nwith two lines"];
    for (const t of texts) {
      const r = await send(alice, `bob@${a.host}`, t);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^[0-9a-f]{32}\n$/);
      expect(r.stderr).toMatch(/sent to bob@127\.0\.0\.1:\d+\n$/);
    }
    const got = await watcher.messages(3);
    expect(got.map((m) => m.text)).toEqual(texts);
    for (const m of got) {
      expect(m).toMatchObject({ from: `alice@${a.host}`, verified: false });
      expect(m.id).toMatch(/^[0-9a-f]{32}$/);
      expect(new Date(m.at).toISOString()).toBe(m.at);
    }
    // A message sent while the watcher runs arrives through the event stream.
    expect((await send(alice, "bob", "fourth, while watching")).code).toBe(0);
    expect((await watcher.messages(4))[3]?.text).toBe("fourth, while watching");
    expect(await watcher.stop()).toBe(0);

    // Bob answers a contact he met through her first message; alice fetches once.
    for (const t of ["reply one", "reply two"]) expect((await send(bob, "alice", t)).code).toBe(0);
    expect(await inbox(alice)).toEqual([
      expect.objectContaining({ from: `bob@${a.host}`, text: "reply one" }),
      expect.objectContaining({ from: `bob@${a.host}`, text: "reply two" }),
    ]);
    expect(await inbox(alice)).toEqual([]); // acknowledged: fetched once only

    // The human-readable form names the sender and the time.
    expect((await send(alice, "bob", "plain output")).code).toBe(0);
    const plain = await ok(["inbox", "--profile", bob]);
    expect(plain.stdout).toMatch(
      /^from: alice@127\.0\.0\.1:\d+ \(NOT verified\)\nat: \d{4}-\d\d-\d\dT[\d:.]+Z\n\nplain output\n\n$/,
    );
  });

  it("federates: a user of a second relay messages alice and gets a reply", async () => {
    const b = await startRelay(join(root, "relay-b"));
    try {
      const carol = await user("carol", b);
      // carol adds alice from relay A, verified against A's signed directory.
      const added = await ok(["contacts", "add", "--profile", carol, `alice@${a.host}`]);
      expect(added.stdout).toContain(`address: alice@${a.host}\n`);
      expect((await send(carol, "alice", "hello from relay B")).code).toBe(0);
      expect(await inbox(alice)).toEqual([
        expect.objectContaining({ from: `carol@${b.host}`, text: "hello from relay B" }),
      ]);
      expect((await send(alice, `carol@${b.host}`, "hello back on relay B")).code).toBe(0);
      expect(await inbox(carol)).toEqual([
        expect.objectContaining({ from: `alice@${a.host}`, text: "hello back on relay B" }),
      ]);
    } finally {
      expect(await b.stop()).toBe(0);
    }
  });

  it("loses nothing across a restart, and keeps its key file and fingerprint", async () => {
    const texts = ["before restart 1", "before restart 2", "before restart 3"];
    for (const t of texts) expect((await send(alice, "bob", t)).code).toBe(0);
    expect(await a.stop("SIGTERM")).toBe(0);
    expect(a.output.stderr).toContain("relay stopped");
    const port = a.port;
    a = await startRelay(dataA, port);
    expect(a.port).toBe(port);
    expect(a.output.stderr).toContain("using the relay key file");
    expect(await inbox(bob)).toEqual(texts.map((text) => expect.objectContaining({ text })));
    for (const f of ["relay.key", "relay.db"])
      expect((await stat(join(dataA, f))).mode & 0o777, f).toBe(0o600);
    expect((await stat(dataA)).mode & 0o777).toBe(0o700);
  });

  it("queues a message while the relay is down, and outbox --flush delivers it", async () => {
    const fingerprint = a.fingerprint;
    const watcher = watch(bob);
    const o = watcher.output;
    await o.until(() => (o.stderr.includes("watching") ? true : undefined), "the watcher");
    expect(await a.stop("SIGTERM")).toBe(0);
    const queued = await send(alice, "bob", "sent while the relay was down");
    expect(queued.code).toBe(0);
    expect(queued.stderr).toMatch(/queued \(relay unreachable: cannot reach the relay at /);
    const listed = await ok(["outbox", "--profile", alice]);
    expect(listed.stdout).toMatch(
      /^bob@127\.0\.0\.1:\d+ {2}http:\/\/\S+ {2}1 attempt {2}[0-9a-f]{32}\n$/,
    );

    a = await startRelay(dataA, a.port);
    expect(a.fingerprint).toBe(fingerprint);
    const flushed = await ok(["outbox", "--profile", alice, "--flush"]);
    expect(flushed.stderr).toContain("sent 1, still queued 0, refused 0");
    expect(flushed.stderr).toContain("the outbox is empty");
    // The watcher lost its stream, reconnected with backoff, and got the message.
    const [m] = await watcher.messages(1);
    expect(m).toMatchObject({ from: `alice@${a.host}`, text: "sent while the relay was down" });
    expect(await watcher.stop()).toBe(0);
    expect(watcher.output.stderr).toContain("reconnected to the relay");
  });

  it("refuses a relay whose keys changed, unless told to accept them", async () => {
    expect(await a.stop("SIGTERM")).toBe(0);
    await unlink(join(dataA, "relay.key"));
    const old = a.fingerprint;
    // The relay refuses data signed by another key unless told to re-sign it.
    const refusedStart = await cli([
      "relay",
      "--port",
      String(a.port),
      "--data",
      dataA,
      "--log-level",
      "warn",
    ]);
    expect(refusedStart.code).toBe(1);
    expect(refusedStart.stderr).toMatch(/signed by another relay key.*--rekey/);
    a = await startRelay(dataA, a.port, ["--rekey"]);
    expect(a.fingerprint).not.toBe(old);
    expect(a.output.stderr).toContain("re-signed the data folder with the new relay key");
    const refused = await cli(["inbox", "--profile", bob]);
    expect(refused).toMatchObject({ code: 1, stdout: "" });
    expect(refused.stderr).toMatch(
      /^secure-msg: WARNING: the relay at http:\/\/127\.0\.0\.1:\d+ has new keys.*--accept-relay-key \(RELAY_KEY_CHANGED\)\n$/,
    );
    // Nothing was pinned by the refusal: it is refused again.
    expect((await cli(["inbox", "--profile", bob])).code).toBe(1);
    // A message to the changed relay is kept, not deposited, and the sender is warned.
    const sent = await send(alice, "bob", "to a relay with new keys");
    expect(sent.code).toBe(1);
    expect(sent.stderr).toMatch(/^secure-msg: WARNING: .* has new keys.*\(RELAY_KEY_CHANGED\)\n$/);
    expect(sent.stderr).toContain("outbox --flush");
    expect((await ok(["outbox", "--profile", alice])).stdout).toMatch(/^bob@.* 1 attempt /);
  });

  it("works with --accept-relay-key after a key change", async () => {
    const accepted = await cli(["inbox", "--profile", bob, "--accept-relay-key"]);
    expect(accepted.stderr).toBe("no new messages\n");
    expect(accepted.code).toBe(0);
    expect((await ok(["inbox", "--profile", bob])).stderr).toBe("no new messages\n");
  });
});

describe("secure-msg relay", () => {
  it("shows its help through npx, and exits 2 on bad flags", async () => {
    const help = await cli(["--no-install", "secure-msg", "relay", "--help"], { command: "npx" });
    expect(help.code).toBe(0);
    for (const s of [
      "--host",
      "--port",
      "--data",
      "--database-url",
      "SECURE_MSG_DATA",
      "--message-ttl",
      "--rekey",
    ])
      expect(help.stdout).toContain(s);
    const bad = await Promise.all([
      cli(["relay", "--port", "http"]),
      cli(["relay", "--port", "70000"]),
      cli(["relay", "--frobnicate"]),
      cli(["relay", "--log-level", "loud"]),
      cli(["relay", "--message-ttl", "0"]),
      cli(["relay", "--mailbox-quota", "many"]),
      cli(["relay", "--metrics", "everyone"]),
      cli(["relay", "extra"]),
    ]);
    for (const r of bad) {
      expect(r).toMatchObject({ code: 2, stdout: "" });
      expect(r.stderr).toMatch(/^secure-msg: .*\(USAGE\)\n$/);
    }
  });

  it("exits 1 with a clear message when it cannot start", async () => {
    const a = await startRelay(join(root, "relay-taken"));
    try {
      const r = await cli(["relay", "--port", String(a.port), "--data", join(root, "other")]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${a.port}: the address is in use`);
      const pg = await cli([
        "relay",
        "--port",
        "0",
        "--data",
        join(root, "other"),
        "--database-url",
        "postgres://relay:hunter2-secret@db.invalid/x",
      ]);
      expect(pg.code).toBe(1);
      expect(pg.stderr).toMatch(
        /^secure-msg: cannot start the relay: cannot open the PostgreSQL store/,
      );
      // The URL may hold a password: it is never printed.
      expect(pg.stderr).not.toContain("hunter2");
    } finally {
      await a.stop();
    }
  });
});
