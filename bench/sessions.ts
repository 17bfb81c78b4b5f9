/**
 * Suite 2: sessions against Signal's libsignal (native). Session setup plus the first
 * message (our X-Wing first contact against PQXDH), then steady-state 1 KiB messages in
 * one direction and alternating. Binary messages on both sides (no armor). Our X-Wing
 * step runs at its real cadence: every 50 messages per direction (the clock is fixed,
 * so the 24 h bound never fires first).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import {
  forget,
  type SignalParty,
  signalOpen,
  signalParty,
  signalSeal,
  startSession,
} from "./libsignal.js";
import { acceptFirst, firstMessage, newAccount, open, seal, session } from "./parties.js";
import { ratchetBreakdown } from "./ratchet-breakdown.js";
import { compare, type Section, type SuiteOptions, single } from "./report.js";
import { alternate, phasedRate, summarize } from "./stats.js";

const TEXT = "s".repeat(1024);

function libsignalVersion(): string {
  const main = createRequire(import.meta.url).resolve("@signalapp/libsignal-client");
  const pkg = JSON.parse(readFileSync(join(dirname(main), "..", "package.json"), "utf8"));
  return String(pkg.version);
}

/** Bytes per message, averaged over a run (both protocols add post-quantum data sparsely). */
class Bytes {
  total = 0;
  n = 0;
  add(b: number): void {
    this.total += b;
    this.n++;
  }
  get mean(): number {
    return this.total / this.n;
  }
}

/** A libsignal session in which both sides have sent once (as `session()` is on our side). */
async function signalSession(text: Uint8Array<ArrayBuffer>) {
  const [a, b] = [signalParty("alice"), signalParty("bob")];
  await startSession(a, b);
  await signalOpen(b, a, await signalSeal(a, b, text));
  await signalOpen(a, b, await signalSeal(b, a, text));
  return { a, b };
}

export async function sessions(o: SuiteOptions): Promise<Section> {
  const sliceMs = o.quick ? 40 : 300;
  const rounds = o.quick ? 1 : 6;
  const text = new TextEncoder().encode(TEXT);
  const [alice, bob] = [await newAccount("alice"), await newAccount("bob")];
  // One pair per case, as on our side: a setup case must not reset the steady sessions.
  const [sa, sb] = [signalParty("alice"), signalParty("bob")];
  const same = await signalSession(text);
  const salt = await signalSession(text);
  const ours = await session();
  const alt = await session();
  const bytes = {
    oursFirst: 0,
    signalFirst: 0,
    oursSame: new Bytes(),
    signalSame: new Bytes(),
    oursAlt: new Bytes(),
    signalAlt: new Bytes(),
  };

  const signalRoundTrip = async (from: SignalParty, to: SignalParty, count: Bytes) => {
    const m = await signalSeal(from, to, text);
    count.add(m.bytes.length);
    if ((await signalOpen(to, from, m)).length !== text.length) throw new Error("libsignal failed");
  };
  let turn = 0;
  const cases = {
    "ours setup": () =>
      phasedRate(async () => {
        const first = await firstMessage(alice, bob, TEXT);
        bytes.oursFirst = first.message.length;
        if ((await acceptFirst(bob, first.message)).text !== TEXT) throw new Error("first failed");
      }, sliceMs),
    "signal setup": () =>
      phasedRate(async () => {
        forget(sa, sb);
        await startSession(sa, sb);
        const m = await signalSeal(sa, sb, text);
        bytes.signalFirst = m.bytes.length;
        await signalOpen(sb, sa, m);
      }, sliceMs),
    "ours same": () =>
      phasedRate(async () => {
        const m = await seal(ours.a, TEXT);
        bytes.oursSame.add(m.length);
        if ((await open(ours.b, m)) !== TEXT) throw new Error("session failed");
      }, sliceMs),
    "signal same": () =>
      phasedRate(() => signalRoundTrip(same.a, same.b, bytes.signalSame), sliceMs),
    "ours alternating": () =>
      phasedRate(async () => {
        const [from, to] = turn++ % 2 ? [alt.a, alt.b] : [alt.b, alt.a];
        const m = await seal(from, TEXT);
        bytes.oursAlt.add(m.length);
        if ((await open(to, m)) !== TEXT) throw new Error("session failed");
      }, sliceMs),
    "signal alternating": () =>
      phasedRate(
        () =>
          turn++ % 2
            ? signalRoundTrip(salt.a, salt.b, bytes.signalAlt)
            : signalRoundTrip(salt.b, salt.a, bytes.signalAlt),
        sliceMs,
      ),
  };
  o.log(`sessions: ${Object.keys(cases).length} cases × ${rounds} rounds`);
  const r = await alternate(cases, rounds);
  const get = (c: keyof typeof cases) => summarize(r[c].all!);
  return {
    id: "sessions",
    title: "Sessions against Signal's libsignal",
    competitor: `libsignal ${libsignalVersion()}`,
    rows: [
      compare(
        "session setup + first 1 KiB message (enc+dec)",
        "ops/s",
        get("ours setup"),
        get("signal setup"),
      ),
      compare(
        "steady state, same direction, 1 KiB (enc+dec)",
        "ops/s",
        get("ours same"),
        get("signal same"),
        {
          text: "≥ 1×",
          test: (x) => x >= 1,
        },
      ),
      compare(
        "steady state, alternating, 1 KiB (enc+dec)",
        "ops/s",
        get("ours alternating"),
        get("signal alternating"),
        {
          text: "≥ 0.5×",
          test: (x) => x >= 0.5,
        },
      ),
      compare("first message size, 1 KiB", "B", single(bytes.oursFirst), single(bytes.signalFirst)),
      compare(
        "mean message size, same direction, 1 KiB",
        "B",
        single(bytes.oursSame.mean),
        single(bytes.signalSame.mean),
      ),
      compare(
        "mean message size, alternating, 1 KiB",
        "B",
        single(bytes.oursAlt.mean),
        single(bytes.signalAlt.mean),
      ),
      ...(await ratchetBreakdown(o.quick)),
    ],
    notes: [
      "libsignal: PQXDH with a signed prekey and a signed Kyber prekey (no one-time prekey), `processPreKeyBundle`, `signalEncrypt`/`signalDecrypt(PreKey)` over in-memory stores that keep serialized records; its session ratchet includes its own sparse post-quantum ratchet (SPQR).",
      "SECURE-MSG: the first message includes bundle verification (as a sender does) and its acceptance; steady state is `ratchet.encrypt`/`ratchet.decrypt` with envelope decoding, X-Wing step every 50 messages per direction. No keystore writes on our side.",
      "Alternating means every message changes direction, so every SECURE-MSG message makes an X25519 ratchet step (keygen + two DH through WebCrypto), as libsignal's does natively.",
      "The breakdown rows time single steps of ours alone (µs per call). WebCrypto imports a raw X25519 secret only as PKCS#8, which costs several times the DH itself, so how often the ratchet imports keys decides much of the alternating rate.",
    ],
  };
}
