/**
 * The crash test (issue 3): deposits under load against a real relay process, the relay
 * killed with SIGKILL partway through, and a restart. Every deposit the relay acknowledged
 * before the kill is still there afterwards, and the outboxes deliver the rest without
 * duplicates. The clients run in this process (the protocol Client over real HTTP), which
 * makes a few hundred deposits cheap.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Client } from "../../protocol/client.js";
import { MemoryStorage } from "../../protocol/storage.js";
import { killAll, startRelay } from "./helpers.js";

const SENDERS = 8;
const PER_SENDER = 25;
/** The relay is killed once this many deposits were acknowledged. */
const KILL_AFTER = 80;
const kdf = { m: 1024, t: 1, p: 1 };

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "secure-msg-crash-"));
});
afterAll(async () => {
  killAll();
  await rm(root, { recursive: true, force: true });
});

async function user(name: string, relay: string): Promise<Client> {
  const c = await Client.create(new MemoryStorage(), { name, relay, password: name }, { kdf });
  await c.register();
  return c;
}

it("keeps every acknowledged deposit when the relay is killed under load", async () => {
  const data = join(root, "relay");
  let relay = await startRelay(data);
  const to = `sink@${relay.host}`;
  const sink = await user("sink", relay.url);
  const senders = await Promise.all(
    Array.from({ length: SENDERS }, (_, i) => user(`sender${i}`, relay.url)),
  );
  await Promise.all(senders.map((s) => s.addContactFromRelay(to)));

  const acknowledged = new Set<string>();
  const all = new Set<string>();
  let killed: Promise<number | null> | undefined;
  await Promise.all(
    senders.map(async (s, i) => {
      for (let n = 0; n < PER_SENDER; n++) {
        const r = await s.send(to, `message ${n} from sender ${i}`);
        all.add(r.id);
        if (r.delivered) acknowledged.add(r.id);
        if (acknowledged.size >= KILL_AFTER) killed ??= relay.stop("SIGKILL");
      }
    }),
  );
  expect(await killed).toBeNull(); // ended by the signal, not an exit
  expect(acknowledged.size).toBeGreaterThanOrEqual(KILL_AFTER);
  expect(acknowledged.size).toBeLessThan(all.size); // the kill came partway through
  expect(all.size).toBe(SENDERS * PER_SENDER);

  relay = await startRelay(data, relay.port);
  try {
    // Everything acknowledged before the kill is there.
    const before = await sink.fetchInbox();
    expect(before.rejected).toEqual([]);
    const got = before.received.map((m) => m.id);
    for (const id of acknowledged) expect(got).toContain(id);

    // The outboxes deliver the rest; a deposit stored but not acknowledged before the
    // kill comes again and is deduplicated by its id.
    const flushed = await Promise.all(senders.map((s) => s.flushOutbox()));
    expect(flushed.map((f) => f.queued + f.failed)).toEqual(senders.map(() => 0));
    const after = await sink.fetchInbox();
    expect(after.rejected).toEqual([]);
    const ids = [...got, ...after.received.map((m) => m.id)];
    expect(new Set(ids).size).toBe(ids.length); // no duplicates
    expect(new Set(ids)).toEqual(all);
    expect(after.pending).toBe(0);
    expect((await sink.history()).filter((m) => m.direction === "in")).toHaveLength(all.size);
  } finally {
    expect(await relay.stop()).toBe(0);
  }
});
