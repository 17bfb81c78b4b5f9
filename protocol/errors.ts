/**
 * The one error type of the protocol layer (docs/protocol.md §9).
 *
 * Every failure that input can cause is a `ProtocolError` with a code from a closed set.
 * Messages never contain secrets or plaintext. "Not for me" (`NOT_FOR_ME`, `NO_SESSION`)
 * is kept apart from "broken" (`TAMPERED`, `BAD_SIGNATURE`): the first is normal when a
 * block was meant for someone else, the second is an attack or corruption the user sees.
 */

export const ErrorCode = {
  /** Structurally invalid bytes: bad length, trailing bytes, unknown type, bad field. */
  BAD_ENCODING: "BAD_ENCODING",
  /** A version byte this implementation does not speak. */
  UNSUPPORTED_VERSION: "UNSUPPORTED_VERSION",
  /** Armor text that does not follow docs/protocol.md §7. */
  BAD_ARMOR: "BAD_ARMOR",
  /** The message is addressed to a prekey or identity this profile does not hold. */
  NOT_FOR_ME: "NOT_FOR_ME",
  /** A session message for a session this profile does not have. */
  NO_SESSION: "NO_SESSION",
  /** Authenticated decryption failed: the bytes were changed or the key is wrong. */
  TAMPERED: "TAMPERED",
  /** A signature did not verify. */
  BAD_SIGNATURE: "BAD_SIGNATURE",
  /** The message was already decrypted, or its key was already used and deleted. */
  REPLAY: "REPLAY",
  /** The message depends on an earlier message (a ratchet step) that has not arrived. */
  OUT_OF_ORDER: "OUT_OF_ORDER",
  /** More skipped message keys than the bounded window allows. */
  TOO_MANY_SKIPPED: "TOO_MANY_SKIPPED",
  /** A prekey or bundle that is past its expiry. */
  EXPIRED: "EXPIRED",
  /** The password did not unlock the keystore. */
  WRONG_PASSWORD: "WRONG_PASSWORD",
  /** A contact's identity key differs from the one on record. */
  IDENTITY_CHANGED: "IDENTITY_CHANGED",
  /** No contact by that name. */
  UNKNOWN_CONTACT: "UNKNOWN_CONTACT",
  /** No account in this storage, or one exists already. */
  NO_ACCOUNT: "NO_ACCOUNT",
  ACCOUNT_EXISTS: "ACCOUNT_EXISTS",
  /** The keystore is locked. */
  LOCKED: "LOCKED",
  /** A stored record failed to decrypt or parse. */
  CORRUPT_STORE: "CORRUPT_STORE",
  /** The relay could not be reached, timed out, or is down (5xx): try again later. */
  RELAY_UNAVAILABLE: "RELAY_UNAVAILABLE",
  /** The relay refused the request (4xx); the message names the relay's code. */
  RELAY_REJECTED: "RELAY_REJECTED",
  /** The relay's keys differ from the ones pinned on first use. */
  RELAY_KEY_CHANGED: "RELAY_KEY_CHANGED",
  /** A caller passed an argument of the wrong type or shape. */
  INVALID_ARGUMENT: "INVALID_ARGUMENT",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const CODES = new Set<string>(Object.values(ErrorCode));

export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** True when `e` is a ProtocolError, and, if `code` is given, one with that code. */
  static is(e: unknown, code?: ErrorCode): e is ProtocolError {
    return e instanceof ProtocolError ||
      // Errors rebuilt after crossing a realm or a message boundary keep name and code.
      (typeof e === "object" &&
        e !== null &&
        (e as { name?: unknown }).name === "ProtocolError" &&
        CODES.has((e as { code?: unknown }).code as string))
      ? code === undefined || (e as ProtocolError).code === code
      : false;
  }

  toJSON(): { name: string; code: ErrorCode; message: string } {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/** Shorthand for throwing inside expressions. */
export function fail(code: ErrorCode, message: string, cause?: unknown): never {
  throw new ProtocolError(code, message, cause === undefined ? undefined : { cause });
}
