/**
 * Protocol versions and object types (docs/protocol.md §2). Every binary object starts
 * with the version byte and then its type byte, so no object can be mistaken for another.
 */
import { fail } from "./errors.js";

export const VERSION = 1;
export const MIN_VERSION = 1;
export const MAX_VERSION = 1;

export const TYPE_PREKEY_MESSAGE = 0x01;
export const TYPE_SESSION_MESSAGE = 0x02;
export const TYPE_BUNDLE = 0x03;
export const TYPE_KEYSTORE_HEADER = 0x04;
export const TYPE_RECORD = 0x05;
export const TYPE_BACKUP = 0x06;

export function checkVersion(v: number): void {
  if (v < MIN_VERSION || v > MAX_VERSION)
    fail("UNSUPPORTED_VERSION", `unsupported protocol version ${v}`);
}
