/**
 * ASCII armor for SECURE-MSG objects (docs/protocol.md §7).
 *
 * Block form, for mail, chat and web pages:
 *
 *     -----BEGIN SECURE-MSG <KIND>-----
 *     <standard base64 (RFC 4648 §4, `=` padded), 64 characters a line, last line 1..64>
 *     -----END SECURE-MSG <KIND>-----
 *
 * Compact form, one line for single-line fields such as an <input>:
 *
 *     SECURE-MSG:<KIND>:<base64url (RFC 4648 §5), no padding, no whitespace>
 *
 * <KIND> is one of ARMOR_KINDS. There are no header lines, no checksum and no blank
 * lines. The payload is 1..MAX_ARMOR_BYTES bytes. Each payload has exactly one text per
 * form: `armor()` writes it (the block form ends with a single LF, the compact form with
 * no line ending). `dearmor()` is strict and tolerates ONLY the following:
 *
 *   1. leading and trailing whitespace around the whole armor (spaces, tabs, CR, LF);
 *   2. CRLF instead of LF line endings (a mix of the two is fine);
 *   3. trailing spaces or tabs at the end of any line of the block form.
 *
 * Everything else is a BAD_ARMOR error, including text longer than twice the longest
 * canonical block armor, which is rejected before it is parsed.
 */
import { base64, base64url, checkBytes } from "./bytes.js";
import { fail, ProtocolError } from "./errors.js";

export const ARMOR_KINDS = ["MESSAGE", "BUNDLE", "BACKUP"] as const;
export type ArmorKind = (typeof ARMOR_KINDS)[number];

/** The largest binary payload, 4 MiB. */
export const MAX_ARMOR_BYTES = 4 * 1024 * 1024;

const LINE = 64;
const BEGIN = "-----BEGIN SECURE-MSG ";
const END = "-----END SECURE-MSG ";
const DASHES = "-----";
const COMPACT = "SECURE-MSG:";

function blockLength(bytes: number, kind: string): number {
  const chars = 4 * Math.ceil(bytes / 3);
  const lines = Math.ceil(chars / LINE);
  return BEGIN.length + END.length + 2 * (kind.length + DASHES.length + 1) + chars + lines;
}
const MAX_TEXT = 2 * Math.max(...ARMOR_KINDS.map((k) => blockLength(MAX_ARMOR_BYTES, k)));

function isKind(k: unknown): k is ArmorKind {
  return (ARMOR_KINDS as readonly unknown[]).includes(k);
}

function checkKind(k: unknown, name: string): ArmorKind {
  if (!isKind(k)) fail("INVALID_ARGUMENT", `${name} must be one of ${ARMOR_KINDS.join(", ")}`);
  return k;
}

export function armor(kind: ArmorKind, data: Uint8Array, options?: { compact?: boolean }): string {
  checkKind(kind, "kind");
  checkBytes(data, "data");
  if (options !== undefined && (typeof options !== "object" || options === null))
    fail("INVALID_ARGUMENT", "options must be an object");
  const compact = options?.compact ?? false;
  if (typeof compact !== "boolean") fail("INVALID_ARGUMENT", "options.compact must be a boolean");
  if (data.length === 0) throw new RangeError("data must not be empty");
  if (data.length > MAX_ARMOR_BYTES)
    throw new RangeError(`data must be at most ${MAX_ARMOR_BYTES} bytes`);
  if (compact) return `${COMPACT}${kind}:${base64url.encode(data)}`;
  const b64 = base64.encode(data);
  const lines = [`${BEGIN}${kind}${DASHES}`];
  for (let i = 0; i < b64.length; i += LINE) lines.push(b64.slice(i, i + LINE));
  lines.push(`${END}${kind}${DASHES}`, "");
  return lines.join("\n");
}

export function dearmor(
  text: string,
  expected?: ArmorKind,
): { kind: ArmorKind; data: Uint8Array; compact: boolean } {
  if (typeof text !== "string") fail("INVALID_ARGUMENT", "text must be a string");
  if (expected !== undefined) checkKind(expected, "expected");
  let out: { kind: ArmorKind; data: Uint8Array; compact: boolean };
  try {
    out = parse(text);
  } catch (e) {
    if (ProtocolError.is(e, "BAD_ARMOR")) throw e;
    // Defence in depth: whatever went wrong, a string input only ever yields BAD_ARMOR.
    return fail("BAD_ARMOR", "malformed armor", e);
  }
  if (expected !== undefined && out.kind !== expected)
    fail("BAD_ARMOR", `expected SECURE-MSG ${expected} armor, got ${out.kind}`);
  return out;
}

// Tolerance 1: the whole-armor whitespace is exactly these four characters.
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

function parse(text: string): { kind: ArmorKind; data: Uint8Array; compact: boolean } {
  if (text.length > MAX_TEXT) fail("BAD_ARMOR", "armor is too large");
  let a = 0;
  let b = text.length;
  while (a < b && isSpace(text.charCodeAt(a))) a++;
  while (b > a && isSpace(text.charCodeAt(b - 1))) b--;
  const t = text.slice(a, b);
  if (t.startsWith(COMPACT)) return parseCompact(t);
  if (t.startsWith(BEGIN)) return parseBlock(t);
  return fail("BAD_ARMOR", "not SECURE-MSG armor");
}

function parseCompact(t: string): { kind: ArmorKind; data: Uint8Array; compact: boolean } {
  const colon = t.indexOf(":", COMPACT.length);
  if (colon < 0) fail("BAD_ARMOR", "compact armor has no kind separator");
  const kind = t.slice(COMPACT.length, colon);
  if (!isKind(kind)) fail("BAD_ARMOR", "unknown armor kind");
  const body = t.slice(colon + 1);
  return { kind, data: decodeBody(body, false), compact: true };
}

function parseBlock(t: string): { kind: ArmorKind; data: Uint8Array; compact: boolean } {
  let pos = 0;
  // Returns the next line with tolerances 2 (one CR before the LF) and 3 (trailing spaces
  // and tabs) removed, or undefined after the last line. Lines are never split eagerly,
  // so a hostile text fails at its first bad line.
  const next = (): string | undefined => {
    if (pos > t.length) return undefined;
    let nl = t.indexOf("\n", pos);
    if (nl < 0) nl = t.length;
    let e = nl;
    if (e > pos && t.charCodeAt(e - 1) === 0x0d) e--;
    while (e > pos && (t.charCodeAt(e - 1) === 0x20 || t.charCodeAt(e - 1) === 0x09)) e--;
    const line = t.slice(pos, e);
    pos = nl + 1;
    return line;
  };

  const kind = marker(next()!, BEGIN);
  if (kind === undefined) fail("BAD_ARMOR", "malformed BEGIN line");
  if (!isKind(kind)) fail("BAD_ARMOR", "unknown armor kind");
  const body: string[] = [];
  let last = LINE;
  for (let line = next(); line !== undefined; line = next()) {
    if (line.startsWith(DASHES)) {
      if (line.startsWith(BEGIN)) fail("BAD_ARMOR", "more than one BEGIN line");
      const endKind = marker(line, END);
      if (endKind === undefined) fail("BAD_ARMOR", "malformed END line");
      if (endKind !== kind) fail("BAD_ARMOR", "END line does not match the BEGIN line");
      if (pos <= t.length) fail("BAD_ARMOR", "content after the END line");
      if (body.length === 0) fail("BAD_ARMOR", "armor body is empty");
      return { kind, data: decodeBody(body.join(""), true), compact: false };
    }
    if (line.length === 0) fail("BAD_ARMOR", "blank line in armor");
    if (line.includes(":")) fail("BAD_ARMOR", "header lines are not allowed");
    if (line.length > LINE) fail("BAD_ARMOR", `armor line longer than ${LINE} characters`);
    if (last !== LINE) fail("BAD_ARMOR", `armor line other than the last is not ${LINE} long`);
    last = line.length;
    body.push(line);
  }
  return fail("BAD_ARMOR", "missing END line");
}

/** The <KIND> of `-----BEGIN SECURE-MSG <KIND>-----` (or END), unchecked; else undefined. */
function marker(line: string, prefix: string): string | undefined {
  if (!line.startsWith(prefix) || !line.endsWith(DASHES)) return undefined;
  if (line.length < prefix.length + DASHES.length) return undefined;
  return line.slice(prefix.length, line.length - DASHES.length);
}

function decodeBody(body: string, padded: boolean): Uint8Array {
  if (body.length === 0) fail("BAD_ARMOR", "armor body is empty");
  // The payload size follows from the text length, so the limit is enforced before decoding.
  let pad = 0;
  if (padded) while (pad < 2 && body.charCodeAt(body.length - 1 - pad) === 0x3d) pad++;
  if (Math.floor((body.length * 3) / 4) - pad > MAX_ARMOR_BYTES)
    fail("BAD_ARMOR", `armor payload is larger than ${MAX_ARMOR_BYTES} bytes`);
  try {
    return (padded ? base64 : base64url).decode(body);
  } catch (e) {
    const why = ProtocolError.is(e) ? e.message : "undecodable";
    return fail(
      "BAD_ARMOR",
      `armor body is not canonical ${padded ? "base64" : "base64url"}: ${why}`,
      e,
    );
  }
}

// --- finding armor in larger text ------------------------------------------------------

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const BLOCK_CHARS = new Set(`${B64}+/= \t\r\n`);
const COMPACT_CHARS = new Set(`${B64}-_`);

/** The kind at text[i..] when it is followed by `terminator`, else undefined. */
function kindAt(text: string, i: number, terminator: string): ArmorKind | undefined {
  return ARMOR_KINDS.find((k) => text.startsWith(k + terminator, i));
}

/**
 * Finds every armored block (block or compact form) in a larger text, e.g. a web page's
 * text or an email. Each result is a candidate for `dearmor` (which may still reject it)
 * with its [start, end) offsets and `text === input.slice(start, end)`.
 *
 * A block candidate is a BEGIN line marker, then only base64 and whitespace characters,
 * then the matching END marker. A compact candidate is `SECURE-MSG:<KIND>:` not preceded
 * by a base64url character, then the longest run of base64url characters (and `=`, so
 * that padded tokens are reported and then rejected rather than silently truncated).
 * The scan is a single forward pass: each character is examined a bounded number of
 * times, whatever the input.
 */
export function findArmor(
  text: string,
): Array<{ kind: ArmorKind; start: number; end: number; text: string }> {
  if (typeof text !== "string") fail("INVALID_ARGUMENT", "text must be a string");
  const found: Array<{ kind: ArmorKind; start: number; end: number; text: string }> = [];
  const add = (kind: ArmorKind, start: number, end: number) =>
    found.push({ kind, start, end, text: text.slice(start, end) });

  for (let from = 0; ; ) {
    const start = text.indexOf(BEGIN, from);
    if (start < 0) break;
    from = start + BEGIN.length;
    const kind = kindAt(text, from, DASHES);
    if (kind === undefined) continue;
    let i = from + kind.length + DASHES.length;
    let data = false;
    for (; i < text.length && BLOCK_CHARS.has(text[i]!); i++) data ||= !isSpace(text.charCodeAt(i));
    // The body run stops at the first other character, which is where the next search
    // resumes, so body runs never overlap.
    from = i;
    const end = `${END}${kind}${DASHES}`;
    if (!data || !text.startsWith(end, i)) continue;
    from = i + end.length;
    add(kind, start, from);
  }

  for (let from = 0; ; ) {
    const start = text.indexOf(COMPACT, from);
    if (start < 0) break;
    from = start + COMPACT.length;
    if (start > 0 && COMPACT_CHARS.has(text[start - 1]!)) continue;
    const kind = kindAt(text, from, ":");
    if (kind === undefined) continue;
    let i = from + kind.length + 1;
    const bodyStart = i;
    while (i < text.length && (COMPACT_CHARS.has(text[i]!) || text[i] === "=")) i++;
    if (i === bodyStart) continue;
    from = i;
    add(kind, start, i);
  }

  return found.sort((x, y) => x.start - y.start);
}
