/**
 * Byte helpers and the strict binary codec used by every wire structure
 * (docs/protocol.md §2): big-endian integers, length-prefixed fields, and a reader
 * that rejects short input and trailing bytes with a typed error.
 */
import { fail } from "./errors.js";

const encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is text like any other, not something to drop silently.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Decodes UTF-8 strictly; invalid sequences are a BAD_ENCODING error. */
export function fromUtf8(b: Uint8Array): string {
  try {
    return decoder.decode(b);
  } catch (e) {
    return fail("BAD_ENCODING", "invalid UTF-8", e);
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-time comparison for equal-length inputs. */
export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  crypto.getRandomValues(out);
  return out;
}

/** Overwrites secret temporaries. Best effort: JS cannot promise the bytes are gone. */
export function wipe(...bufs: (Uint8Array | undefined)[]): void {
  for (const b of bufs) b?.fill(0);
}

export function toHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

export function fromHex(s: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(s)) fail("BAD_ENCODING", "invalid hex");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// --- base64 (RFC 4648 §4 and §5), canonical only -------------------------------------

const STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/** The base64url alphabet (RFC 4648 §5), in sextet order. */
const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function makeTable(alphabet: string): Int16Array {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i;
  return t;
}
const STD_T = makeTable(STD);
const URL_T = makeTable(BASE64URL_ALPHABET);

function encode64(b: Uint8Array, alphabet: string, pad: boolean): string {
  let s = "";
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    s +=
      alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!;
  }
  const rest = b.length - i;
  if (rest === 1) {
    const n = b[i]! << 16;
    s += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + (pad ? "==" : "");
  } else if (rest === 2) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8);
    s +=
      alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + (pad ? "=" : "");
  }
  return s;
}

/**
 * Decodes base64 strictly: only the alphabet, padding exactly as RFC 4648 requires (or
 * none at all when `pad` is false), and zero unused bits, so each byte string has exactly
 * one accepted text form.
 */
function decode64(s: string, table: Int16Array, pad: boolean): Uint8Array {
  let body = s;
  if (pad) {
    if (s.length % 4 !== 0) fail("BAD_ENCODING", "base64 length is not a multiple of 4");
    if (s.endsWith("==")) body = s.slice(0, -2);
    else if (s.endsWith("=")) body = s.slice(0, -1);
  }
  if (body.length % 4 === 1) fail("BAD_ENCODING", "invalid base64 length");
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  const at = (i: number): number => {
    const c = body.charCodeAt(i);
    return c < 128 ? table[c]! : -1;
  };
  const full = body.length - (body.length % 4);
  let o = 0;
  // Four characters, three bytes at a time; a negative value marks a character outside
  // the alphabet, and any one makes the OR negative.
  for (let i = 0; i < full; i += 4) {
    const a = at(i);
    const b = at(i + 1);
    const c = at(i + 2);
    const d = at(i + 3);
    if ((a | b | c | d) < 0) fail("BAD_ENCODING", "invalid base64 character");
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  const rest = body.length - full;
  if (rest > 0) {
    const a = at(full);
    const b = at(full + 1);
    const c = rest === 3 ? at(full + 2) : 0;
    if ((a | b | c) < 0) fail("BAD_ENCODING", "invalid base64 character");
    const n = (a << 18) | (b << 12) | (c << 6);
    // The unused low bits of the last character must be zero (one text form per bytes).
    if ((rest === 2 ? n & 0xffff : n & 0xff) !== 0) fail("BAD_ENCODING", "non-canonical base64");
    out[o++] = n >> 16;
    if (rest === 3) out[o++] = (n >> 8) & 0xff;
  }
  return out;
}

export const base64 = {
  encode: (b: Uint8Array): string => encode64(b, STD, true),
  decode: (s: string): Uint8Array => decode64(s, STD_T, true),
};

export const base64url = {
  encode: (b: Uint8Array): string => encode64(b, BASE64URL_ALPHABET, false),
  decode: (s: string): Uint8Array => decode64(s, URL_T, false),
};

// --- strict binary codec --------------------------------------------------------------

export class Writer {
  private parts: Uint8Array[] = [];

  u8(n: number): this {
    this.parts.push(Uint8Array.of(n & 0xff));
    return this;
  }
  u16(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError("u16 out of range");
    this.parts.push(Uint8Array.of(n >> 8, n & 0xff));
    return this;
  }
  u32(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError("u32 out of range");
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    this.parts.push(b);
    return this;
  }
  /** Unsigned 64-bit integer; only values up to 2^53 - 1 are representable here. */
  u64(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError("u64 out of range");
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(n));
    this.parts.push(b);
    return this;
  }
  /**
   * Variable-length integer (RFC 9000 §16): the top two bits of the first byte give the
   * length (1, 2, 4 or 8 bytes), the rest is the big-endian value. Always the shortest
   * form; values up to 2^32 - 1 here.
   */
  varint(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
      throw new RangeError("varint out of range");
    if (n < 0x40) return this.u8(n);
    if (n < 0x4000) return this.u16(0x4000 | n);
    if (n < 0x40000000) return this.u32((0x80000000 | n) >>> 0);
    return this.u32(0xc0000000).u32(n);
  }
  /** Fixed-length bytes: the reader must know the length. */
  raw(b: Uint8Array, len?: number): this {
    if (len !== undefined && b.length !== len) throw new RangeError(`expected ${len} bytes`);
    this.parts.push(b);
    return this;
  }
  /** Bytes with a u16 length prefix. */
  bytes16(b: Uint8Array): this {
    return this.u16(b.length).raw(b);
  }
  /** Bytes with a u32 length prefix. */
  bytes32(b: Uint8Array): this {
    return this.u32(b.length).raw(b);
  }
  finish(): Uint8Array {
    return concat(...this.parts);
  }
}

export class Reader {
  private off = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
  ) {}

  get offset(): number {
    return this.off;
  }
  private take(n: number): Uint8Array {
    if (this.off + n > this.buf.length) fail("BAD_ENCODING", `${this.what}: truncated`);
    const out = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }
  u8(): number {
    return this.take(1)[0]!;
  }
  u16(): number {
    const b = this.take(2);
    return (b[0]! << 8) | b[1]!;
  }
  u32(): number {
    const b = this.take(4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
  }
  u64(): number {
    const b = this.take(8);
    const v = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      fail("BAD_ENCODING", `${this.what}: integer too large`);
    return Number(v);
  }
  /** A varint (Writer.varint): BAD_ENCODING unless in its shortest form and at most `max`. */
  varint(max = 0xffffffff): number {
    const first = this.buf[this.off];
    const len = first === undefined ? 1 : 1 << (first >> 6);
    const b = this.take(len);
    let v = b[0]! & 0x3f;
    for (let i = 1; i < len; i++) v = v * 256 + b[i]!;
    if (len > 1 && v < 2 ** (8 * (len >> 1) - 2))
      fail("BAD_ENCODING", `${this.what}: integer not in its shortest form`);
    if (v > max) fail("BAD_ENCODING", `${this.what}: integer too large`);
    return v;
  }
  /** Everything left, at least `min` and at most `max` bytes (a copy). */
  rest(min: number, max: number): Uint8Array {
    const n = this.buf.length - this.off;
    if (n < min) fail("BAD_ENCODING", `${this.what}: truncated`);
    if (n > max) fail("BAD_ENCODING", `${this.what}: field too long`);
    return this.raw(n);
  }
  /** Fixed-length field; returns a copy so callers may keep it. */
  raw(n: number): Uint8Array {
    return this.take(n).slice();
  }
  bytes16(max = 0xffff): Uint8Array {
    const n = this.u16();
    if (n > max) fail("BAD_ENCODING", `${this.what}: field too long`);
    return this.raw(n);
  }
  bytes32(max: number): Uint8Array {
    const n = this.u32();
    if (n > max) fail("BAD_ENCODING", `${this.what}: field too long`);
    return this.raw(n);
  }
  /** All input must be consumed: trailing bytes are an error (docs/protocol.md §2). */
  end(): void {
    if (this.off !== this.buf.length) fail("BAD_ENCODING", `${this.what}: trailing bytes`);
  }
}

/** Checks a public-boundary argument is a Uint8Array (optionally of a given length). */
export function checkBytes(b: unknown, name: string, len?: number): Uint8Array {
  if (!(b instanceof Uint8Array)) fail("INVALID_ARGUMENT", `${name} must be a Uint8Array`);
  if (len !== undefined && b.length !== len)
    fail("INVALID_ARGUMENT", `${name} must be ${len} bytes, got ${b.length}`);
  return b;
}
