/**
 * The relay's errors: one HTTPException subclass with a code from a closed set. The
 * app's single onError turns every error into `{"error": {"code", "message"}}`; a bug is
 * a 500 with no detail, and a storage failure is a 503 (docs/protocol.md §13.5).
 */
import { RequestError } from "@hono/node-server";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export const RelayErrorCode = {
  BAD_REQUEST: 400,
  BAD_JSON: 400,
  BAD_ENVELOPE: 400,
  BAD_BUNDLE: 400,
  UNAUTHORIZED: 401,
  BAD_SIGNATURE: 401,
  STALE_REQUEST: 401,
  REPLAYED_REQUEST: 401,
  NOT_FOUND: 404,
  UNKNOWN_USER: 404,
  NAME_TAKEN: 409,
  STALE_BUNDLE: 409,
  TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  MAILBOX_FULL: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type RelayErrorCode = keyof typeof RelayErrorCode;

export class RelayError extends HTTPException {
  readonly code: RelayErrorCode;
  constructor(code: RelayErrorCode, message: string, options?: { cause?: unknown }) {
    super(RelayErrorCode[code], { message, ...(options?.cause ? { cause: options.cause } : {}) });
    this.code = code;
  }
}

export function relayFail(code: RelayErrorCode, message: string, cause?: unknown): never {
  throw new RelayError(code, message, cause === undefined ? undefined : { cause });
}

/**
 * A request Node parsed but no web Request could be made of (a malformed Host header or
 * request target): answered in the JSON error shape of every other answer (§13.5), not
 * as the adapter's empty 400. The app itself never throws past its onError.
 */
export function unreadableRequest(e: unknown): Response {
  const bad = e instanceof RequestError;
  return Response.json(
    {
      error: bad
        ? { code: "BAD_REQUEST", message: "malformed request" }
        : { code: "INTERNAL", message: "internal error" },
    },
    { status: bad ? 400 : 500 },
  );
}
