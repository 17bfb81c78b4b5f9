import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ARMOR_KINDS,
  type ArmorKind,
  armor,
  dearmor,
  findArmor,
  MAX_ARMOR_BYTES,
} from "../../protocol/armor.js";
import { base64, equal, utf8 } from "../../protocol/bytes.js";
import { ProtocolError } from "../../protocol/errors.js";

const isBadArmor = (e: unknown) => ProtocolError.is(e, "BAD_ARMOR");

/** Runs dearmor and returns its result, or the ProtocolError BAD_ARMOR it threw. */
function attempt(text: string, expected?: ArmorKind) {
  try {
    return dearmor(text, expected);
  } catch (e) {
    if (!isBadArmor(e)) throw new Error(`dearmor threw a non-BAD_ARMOR error: ${String(e)}`);
    return e as ProtocolError;
  }
}

/**
 * Undoes exactly the tolerated deviations, written independently of armor.ts: trim
 * spaces, tabs, CR and LF around the whole text (1), then per line drop one CR before the
 * LF (2) and then trailing spaces and tabs (3). Canonical text has no final LF here.
 */
function normalise(text: string): string {
  return text
    .replace(/^[ \t\r\n]+/, "")
    .replace(/[ \t\r\n]+$/, "")
    .split("\n")
    .map((l) => l.replace(/\r$/, "").replace(/[ \t]+$/, ""))
    .join("\n");
}

/** dearmor accepted `text`: it must be the canonical armor of what it returned. */
function expectCanonical(text: string, r: ReturnType<typeof dearmor>) {
  const canonical = armor(r.kind, r.data, { compact: r.compact });
  expect(normalise(text)).toBe(canonical.replace(/\n$/, ""));
}

const kindArb = fc.constantFrom(...ARMOR_KINDS);
const small = utf8("hello, world"); // 12 bytes: "aGVsbG8sIHdvcmxk"

describe("armor format", () => {
  it("writes the exact block and compact text of a known example", () => {
    expect(armor("MESSAGE", small)).toBe(
      "-----BEGIN SECURE-MSG MESSAGE-----\naGVsbG8sIHdvcmxk\n-----END SECURE-MSG MESSAGE-----\n",
    );
    expect(armor("BUNDLE", Uint8Array.of(0xfb, 0xff), { compact: true })).toBe(
      "SECURE-MSG:BUNDLE:-_8",
    );
    const data = Uint8Array.from({ length: 49 }, (_, i) => i * 5);
    const lines = armor("BACKUP", data).split("\n");
    expect(lines).toEqual([
      "-----BEGIN SECURE-MSG BACKUP-----",
      "AAUKDxQZHiMoLTI3PEFGS1BVWl9kaW5zeH2Ch4yRlpugpaqvtLm+w8jN0tfc4ebr",
      "8A==",
      "-----END SECURE-MSG BACKUP-----",
      "",
    ]);
  });

  it("round-trips every kind in both forms for 1..2000 bytes", () => {
    fc.assert(
      fc.property(
        kindArb,
        fc.uint8Array({ minLength: 1, maxLength: 2000 }),
        fc.boolean(),
        (kind, data, compact) => {
          const text = armor(kind, data, { compact });
          expect(dearmor(text)).toEqual({ kind, data, compact });
          expect(dearmor(text, kind).data).toEqual(data);
          if (!compact) {
            const lines = text.split("\n");
            expect(text.endsWith("-----\n")).toBe(true);
            for (const l of lines.slice(1, -3)) expect(l).toHaveLength(64);
            expect(lines.at(-3)!.length).toBeGreaterThanOrEqual(1);
            expect(lines.at(-3)!.length).toBeLessThanOrEqual(64);
          } else {
            expect(text).toMatch(/^SECURE-MSG:[A-Z]+:[A-Za-z0-9_-]+$/);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("round-trips the largest payload", () => {
    const data = new Uint8Array(MAX_ARMOR_BYTES).fill(7);
    // equal() rather than toEqual: deep equality of 4 MiB arrays is very slow.
    expect(equal(dearmor(armor("BACKUP", data)).data, data)).toBe(true);
    expect(equal(dearmor(armor("BACKUP", data, { compact: true })).data, data)).toBe(true);
  });

  it("validates armor() arguments", () => {
    expect(() => armor("MESSAGE", new Uint8Array(0))).toThrow(RangeError);
    expect(() => armor("MESSAGE", new Uint8Array(MAX_ARMOR_BYTES + 1))).toThrow(RangeError);
    expect(() => armor("NOPE" as ArmorKind, small)).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
    expect(() => armor("MESSAGE", [1, 2] as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
    expect(() => dearmor(42 as unknown as string)).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
  });
});

describe("tolerated deviations", () => {
  const data = Uint8Array.from({ length: 100 }, (_, i) => (i * 37) & 0xff);
  const block = armor("MESSAGE", data);
  const compact = armor("MESSAGE", data, { compact: true });
  const variants: Array<[string, string]> = [
    ["1: leading and trailing whitespace", ` \t\r\n\n${block}\r\n \t\n`],
    ["1: no final line ending", block.trimEnd()],
    ["1: whitespace around the compact form", `\n  ${compact} \t\r\n`],
    ["2: CRLF line endings", block.replaceAll("\n", "\r\n")],
    ["2: mixed CRLF and LF", block.replace("\n", "\r\n").replace(/\n(-----END)/, "\r\n$1")],
    ["3: trailing spaces and tabs", block.replaceAll("\n", " \t \n")],
    ["2+3: trailing blanks before CRLF", block.replaceAll("\n", "\t \r\n")],
  ];
  for (const [name, text] of variants) {
    it(`accepts ${name}`, () => {
      expect(text).not.toBe(block);
      const r = dearmor(text, "MESSAGE");
      expect(r.data).toEqual(data);
      expectCanonical(text, r);
    });
  }
});

describe("malformed armor", () => {
  const data = Uint8Array.from({ length: 100 }, (_, i) => (i * 37) & 0xff);
  const block = armor("MESSAGE", data);
  const [begin, l1, l2, l3, end] = block.split("\n") as [string, string, string, string, string];
  const join = (...lines: string[]) => `${lines.join("\n")}\n`;
  const at10 = (c: string) => `${l2.slice(0, 10)}${c}${l2.slice(11)}`;
  const big = base64.encode(new Uint8Array(MAX_ARMOR_BYTES + 1));
  const oversize = [
    "-----BEGIN SECURE-MSG BACKUP-----",
    ...(big.match(/.{1,64}/g) ?? []),
    "-----END SECURE-MSG BACKUP-----",
  ].join("\n");
  const cases: Array<[string, string]> = [
    ["empty string", ""],
    ["only whitespace", " \r\n\t"],
    ["unknown kind", block.replaceAll("MESSAGE", "LETTER")],
    ["lower-case kind", block.replaceAll("MESSAGE", "message")],
    ["mismatched END", block.replace("END SECURE-MSG MESSAGE", "END SECURE-MSG BUNDLE")],
    ["missing END", join(begin, l1, l2, l3)],
    ["65-character line", join(begin, l1 + l2.slice(0, 1), l2.slice(1), l3, end)],
    ["short middle line", join(begin, l1.slice(0, 60), l1.slice(60) + l2, l3, end)],
    ["blank line", join(begin, l1, "", l2, l3, end)],
    ["blank line of spaces", join(begin, l1, "   ", l2, l3, end)],
    ["header line", join(begin, "Version: 1", l1, l2, l3, end)],
    ["header line and blank line", join(begin, "Version: 1", "", l1, l2, l3, end)],
    ["bad character", join(begin, l1, at10("*"), l3, end)],
    ["base64url character in block", join(begin, l1, at10("-"), l3, end)],
    ["leading space on a line", join(begin, l1, ` ${l2}`, l3, end)],
    ["indented block", join(begin, ` ${l1}`, ` ${l2}`, ` ${l3}`, ` ${end}`)],
    ["lone CR line ending", block.replace("\n", "\r")],
    ["CR CR LF line ending", block.replace("\n", "\r\r\n")],
    ["space after CR", block.replace("\n", "\r \n")],
    ["bad padding", armor("MESSAGE", small).replace("aGVsbG8sIHdvcmxk", "aGVsbG8sIHdvcmx=")],
    ["missing padding", armor("MESSAGE", Uint8Array.of(1)).replace("AQ==", "AQ")],
    ["non-canonical last char", armor("MESSAGE", Uint8Array.of(1)).replace("AQ==", "AR==")],
    ["trailing content", `${block}hello\n`],
    ["two blocks", block + block],
    ["empty body", "-----BEGIN SECURE-MSG MESSAGE-----\n-----END SECURE-MSG MESSAGE-----\n"],
    ["oversize block", oversize],
    ["oversize compact", `SECURE-MSG:BACKUP:${"A".repeat(big.length)}`],
    ["oversize text", block + " ".repeat(12 * 1024 * 1024)],
    ["BOM", `\uFEFF${block}`],
    ["no-break space around", `\u00a0${block}`],
    ["compact padded", "SECURE-MSG:MESSAGE:AQ=="],
    ["compact non-canonical", "SECURE-MSG:MESSAGE:AR"],
    ["compact empty", "SECURE-MSG:MESSAGE:"],
    ["compact standard alphabet", "SECURE-MSG:BUNDLE:+/8"],
    ["compact inner space", "SECURE-MSG:MESSAGE:AAAA AAAA"],
    ["compact unknown kind", "SECURE-MSG:LETTER:AAAA"],
    ["compact no kind", "SECURE-MSG:AAAA"],
  ];
  for (const [name, text] of cases) {
    it(`rejects ${name} as BAD_ARMOR`, () => {
      expect(() => dearmor(text)).toThrow(expect.objectContaining({ code: "BAD_ARMOR" }));
    });
  }

  it("rejects an expected-kind mismatch", () => {
    expect(() => dearmor(block, "BUNDLE")).toThrow(expect.objectContaining({ code: "BAD_ARMOR" }));
  });

  it("never echoes the input in its messages", () => {
    const secret = "c2VjcmV0c2VjcmV0";
    for (const [, text] of cases) {
      const e = attempt(`${text}${secret}`);
      if (e instanceof ProtocolError) expect(e.message).not.toContain(secret);
    }
  });
});

describe("fuzz", () => {
  const fragments = fc.constantFrom(
    "-----BEGIN SECURE-MSG ",
    "-----END SECURE-MSG ",
    "-----",
    "MESSAGE",
    "BUNDLE",
    "SECURE-MSG:",
    ":",
    "\n",
    "\r\n",
    " ",
    "AAAA",
    "aGVsbG8sIHdvcmxk",
    "QQ==",
    "=",
    "-_",
  );

  it("gives a result or BAD_ARMOR for arbitrary strings", () => {
    const text = fc.oneof(
      fc.string({ unit: "binary", maxLength: 300 }),
      fc.array(fragments, { maxLength: 30 }).map((a) => a.join("")),
    );
    fc.assert(
      fc.property(text, (s) => {
        const r = attempt(s);
        if (!(r instanceof ProtocolError)) expectCanonical(s, r);
      }),
      { numRuns: 3000 },
    );
  });

  it("accepts a one-character mutation of valid armor only if it is canonical", () => {
    const mutated = fc
      .record({
        kind: kindArb,
        data: fc.uint8Array({ minLength: 1, maxLength: 200 }),
        compact: fc.boolean(),
        op: fc.constantFrom("change", "insert", "delete"),
        at: fc.nat(),
        ch: fc.oneof(
          fc.constantFrom(" ", "\t", "\r", "\n", "=", "-", "_", "+", "/", ":", "A", "\u00e9"),
          fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
        ),
      })
      .map(({ kind, data, compact, op, at, ch }) => {
        const text = armor(kind, data, { compact });
        const i = at % (text.length + (op === "insert" ? 1 : 0));
        if (op === "change") return text.slice(0, i) + ch + text.slice(i + 1);
        if (op === "insert") return text.slice(0, i) + ch + text.slice(i);
        return text.slice(0, i) + text.slice(i + 1);
      });
    fc.assert(
      fc.property(mutated, (s) => {
        const r = attempt(s);
        if (!(r instanceof ProtocolError)) expectCanonical(s, r);
      }),
      { numRuns: 3000 },
    );
  });

  it("never silently returns the same bytes when any single character is changed", () => {
    const data = Uint8Array.from({ length: 150 }, (_, i) => (i * 151 + 7) & 0xff);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (const compact of [false, true]) {
      const text = armor("BUNDLE", data, { compact });
      for (let i = 0; i < text.length; i++) {
        const c = text[i]!;
        const k = alphabet.indexOf(c);
        const subs = new Set(["=", "-", "_", "A", "B", ":", "\u00e9", "\0"]);
        if (k >= 0) subs.add(alphabet[(k + 1) % 64]!).add(alphabet[(k + 63) % 64]!);
        subs.delete(c);
        for (const sub of subs) {
          const s = text.slice(0, i) + sub + text.slice(i + 1);
          const r = attempt(s);
          if (!(r instanceof ProtocolError)) expect(r.data).not.toEqual(data);
        }
      }
    }
  });
});

describe("findArmor", () => {
  const data = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);

  it("finds a block in HTML-ish text", () => {
    const block = armor("MESSAGE", data);
    const page = `<html><body><p>Hi!</p><pre>\n${block}</pre><p>bye -----</p></body></html>`;
    const found = findArmor(page);
    expect(found).toHaveLength(1);
    const [m] = found;
    expect(m!.kind).toBe("MESSAGE");
    expect(m!.text).toBe(page.slice(m!.start, m!.end));
    expect(m!.text).toBe(block.trimEnd());
    expect(dearmor(m!.text).data).toEqual(data);
  });

  it("finds blocks in an email with quoted text and CRLF lines", () => {
    const a = armor("BUNDLE", data).replaceAll("\n", "\r\n");
    const b = armor("MESSAGE", data.slice(0, 10));
    const quoted = b
      .split("\n")
      .map((l) => `> ${l}`)
      .join("\n");
    const mail = `Hello Bob,\r\n\r\nmy bundle:\r\n\r\n${a}\r\n-- \r\nAlice\r\n\r\nOn Monday you wrote:\n> hi\n${quoted}\n> bye\n`;
    const found = findArmor(mail);
    // The quoted copy has "> " inside its body, so it is not a candidate.
    expect(found.map((f) => f.kind)).toEqual(["BUNDLE"]);
    expect(dearmor(found[0]!.text, "BUNDLE").data).toEqual(data);
  });

  it("finds compact tokens inside sentences, in order with blocks", () => {
    const token = armor("BUNDLE", data.slice(0, 40), { compact: true });
    const block = armor("BACKUP", data);
    const text = `Add me: ${token}. Also see\n${block}\nand (${armor("MESSAGE", small, { compact: true })})!`;
    const found = findArmor(text);
    expect(found.map((f) => f.kind)).toEqual(["BUNDLE", "BACKUP", "MESSAGE"]);
    expect(found[0]!.text).toBe(token);
    expect(dearmor(found[0]!.text).data).toEqual(data.slice(0, 40));
    expect(dearmor(found[2]!.text).data).toEqual(small);
    for (const f of found) expect(text.slice(f.start, f.end)).toBe(f.text);
  });

  it("reports but does not fix damaged candidates", () => {
    expect(findArmor("x SECURE-MSG:MESSAGE:AQ== y").map((f) => f.text)).toEqual([
      "SECURE-MSG:MESSAGE:AQ==",
    ]);
    expect(findArmor("xSECURE-MSG:MESSAGE:AQ y")).toEqual([]);
    expect(findArmor("SECURE-MSG:LETTER:AQ -----BEGIN SECURE-MSG LETTER-----\nAA\n")).toEqual([]);
    const mismatched = armor("MESSAGE", data).replace(
      "END SECURE-MSG MESSAGE",
      "END SECURE-MSG BUNDLE",
    );
    expect(findArmor(mismatched)).toEqual([]);
  });

  it("completes on large hostile inputs", () => {
    const mb = 1024 * 1024;
    const hostile = [
      "-".repeat(mb),
      "-----BEGIN SECURE-MSG MESSAGE-----\n".repeat(mb / 32),
      `-----BEGIN SECURE-MSG MESSAGE-----${"A".repeat(mb)}`,
      "SECURE-MSG:MESSAGE:".repeat(mb / 16),
      `SECURE-MSG:MESSAGE:${"A".repeat(mb)}=`,
      "-----BEGIN SECURE-MSG -----END SECURE-MSG ".repeat(mb / 40),
      fc.sample(fc.string({ unit: "binary", minLength: mb, maxLength: mb }), 1)[0]!,
    ];
    for (const h of hostile) {
      expect(Array.isArray(findArmor(h))).toBe(true);
      expect(isBadArmor(attempt(h))).toBe(true);
    }
    expect(findArmor(`SECURE-MSG:MESSAGE:${"A".repeat(mb)}=`)).toHaveLength(1);
  });
});
