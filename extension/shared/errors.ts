/**
 * Errors across the messaging boundary (DESIGN §5): the worker answers a failure with its
 * name, code and message, never a stack, and the caller rebuilds it, keeping what crossed
 * as `cause`. A protocol code becomes a `ProtocolError` again, so `ProtocolError.is(e,
 * "WRONG_PASSWORD")` works in the popup as it does in the worker; anything else is an
 * `ExtensionError`. Messages never hold plaintext or keys: the protocol's messages do not,
 * and errors without a code (bugs) cross as a fixed text.
 */
import { ErrorCode, ProtocolError } from "../../protocol/errors.js";

export const ExtensionErrorCode = {
  /** The sender may not make this request (a content script asking for plaintext). */
  FORBIDDEN: "FORBIDDEN",
  /** The request has a known type but fields of the wrong shape. */
  BAD_REQUEST: "BAD_REQUEST",
  /** Nothing answered: the worker is not running, or no listener took the message. */
  NO_RECEIVER: "NO_RECEIVER",
  /** A page's field changed (or the page was left) before the armor could be inserted. */
  PAGE_CHANGED: "PAGE_CHANGED",
  /** An "Encrypt selection" or "Secure compose" that has ended, expired or never was. */
  UNKNOWN_INSERTION: "UNKNOWN_INSERTION",
  /** A failure without a code (a bug); its details stay in the worker. */
  INTERNAL: "INTERNAL",
} as const;

export type ExtensionErrorCode = (typeof ExtensionErrorCode)[keyof typeof ExtensionErrorCode];

const PROTOCOL_CODES = new Set<string>(Object.values(ErrorCode));
const EXTENSION_CODES = new Set<string>(Object.values(ExtensionErrorCode));

export class ExtensionError extends Error {
  override readonly name = "ExtensionError";
  readonly code: ExtensionErrorCode;

  constructor(code: ExtensionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  static is(e: unknown, code?: ExtensionErrorCode): e is ExtensionError {
    if (typeof e !== "object" || e === null) return false;
    const o = e as { name?: unknown; code?: unknown };
    if (o.name !== "ExtensionError" || !EXTENSION_CODES.has(o.code as string)) return false;
    return code === undefined || o.code === code;
  }

  toJSON(): WireError {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/** An error as it crosses the boundary. */
export interface WireError {
  name: string;
  code: string;
  message: string;
}

/** The worker's side: what of an error may cross. */
export function toWire(e: unknown): WireError {
  if (ProtocolError.is(e) || ExtensionError.is(e))
    return { name: e.name, code: e.code, message: e.message };
  return { name: "ExtensionError", code: "INTERNAL", message: "internal error in the extension" };
}

/** The caller's side: rebuilds a crossed error, with what crossed as `cause`. */
export function fromWire(w: unknown): ProtocolError | ExtensionError {
  const o = (typeof w === "object" && w !== null ? w : {}) as Partial<Record<string, unknown>>;
  const code = typeof o.code === "string" ? o.code : "INTERNAL";
  const message = typeof o.message === "string" ? o.message : "unknown error";
  const cause = { name: o.name, code, message };
  if (PROTOCOL_CODES.has(code)) return new ProtocolError(code as ErrorCode, message, { cause });
  const ext = EXTENSION_CODES.has(code) ? (code as ExtensionErrorCode) : "INTERNAL";
  return new ExtensionError(ext, message, { cause });
}
