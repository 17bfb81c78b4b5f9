/**
 * How the CLI ends: every failure becomes one line on stderr and an exit code.
 *
 *   0   success
 *   1   a cryptographic or authentication failure: any ProtocolError not listed under 2,
 *       among them a relay that cannot be reached, refuses, or changed its keys; and a
 *       Failure (a relay that cannot start)
 *   2   a usage error: commander's errors, UsageError, and the ProtocolErrors that mean
 *       the command named something that is not there or is malformed (USAGE_CODES)
 *   70  a bug (EX_SOFTWARE): only the error's name is printed, never its message or stack,
 *       unless SECURE_MSG_DEBUG=1
 *   130 the user pressed Ctrl-C (or Ctrl-D) at a password prompt, as for SIGINT
 */
import { CommanderError } from "commander";
import { type ErrorCode, ProtocolError } from "../protocol/errors.js";
import { Failure } from "./failure.js";
import { UsageError } from "./usage-error.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 70;
export const EXIT_ABORTED = 130;

/** What prompt.ts throws when the user ends a password prompt with Ctrl-C or Ctrl-D. */
function isAbort(e: unknown): boolean {
  return e instanceof Error && (e as NodeJS.ErrnoException).code === "ABORTED";
}

const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "INVALID_ARGUMENT",
  "UNKNOWN_CONTACT",
  "NO_ACCOUNT",
]);

/** Wording for codes whose protocol message is not what a user at a terminal needs. */
const MESSAGES: Partial<Record<ErrorCode, (e: ProtocolError) => string>> = {
  NOT_FOR_ME: () => "this message is not for this profile",
  NO_SESSION: () =>
    "this message is not for this profile, or the first message of its conversation " +
    "has not been decrypted here yet",
  TAMPERED: (e) => `the message was altered or damaged: ${e.message}`,
  IDENTITY_CHANGED: (e) =>
    `WARNING: ${e.message}. Someone may be impersonating this contact. Only after comparing ` +
    "the new safety number with them, import their bundle with 'contacts add --accept-changed'",
  RELAY_KEY_CHANGED: (e) =>
    `WARNING: ${e.message}. Someone may be impersonating the relay. ` +
    (e.message.includes("--accept-relay-key")
      ? "Do so only after its operator confirms the new relay fingerprint"
      : "Only after its operator confirms the new relay fingerprint, run the command again " +
        "with --accept-relay-key"),
};

export function exitCodeOf(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (e instanceof UsageError) return EXIT_USAGE;
  if (e instanceof Failure) return EXIT_FAILURE;
  if (ProtocolError.is(e)) return USAGE_CODES.has(e.code) ? EXIT_USAGE : EXIT_FAILURE;
  return isAbort(e) ? EXIT_ABORTED : EXIT_INTERNAL;
}

/** One line, with newlines folded, so scripts can read stderr line by line. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

export function describeError(e: unknown): string {
  if (e instanceof UsageError) return `secure-msg: ${oneLine(e.message)} (USAGE)`;
  if (e instanceof Failure) return `secure-msg: ${oneLine(e.message)}`;
  if (ProtocolError.is(e)) {
    const message = MESSAGES[e.code]?.(e) ?? e.message;
    return `secure-msg: ${oneLine(message)} (${e.code})`;
  }
  if (isAbort(e)) return "secure-msg: aborted";
  const name = e instanceof Error ? e.name : typeof e;
  return `secure-msg: internal error (${name})`;
}

/**
 * Prints `e` and returns the exit code. Commander has already printed its own errors
 * (through `commanderOutput`), so they are only mapped to a code here.
 */
export function report(e: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  const code = exitCodeOf(e);
  if (!(e instanceof CommanderError)) stderr.write(`${describeError(e)}\n`);
  if (process.env.SECURE_MSG_DEBUG === "1" && e instanceof Error && e.stack) {
    stderr.write(`${e.stack}\n`);
    if (e.cause instanceof Error && e.cause.stack) stderr.write(`caused by: ${e.cause.stack}\n`);
  }
  return code;
}

/** Commander's output settings: its errors in our one-line form, help as usual. */
export const commanderOutput = {
  outputError(text: string, write: (s: string) => void): void {
    write(`secure-msg: ${oneLine(text.replace(/^error:\s*/, ""))} (USAGE)\n`);
  },
};

/**
 * A reader that closes stdout early (`| head`) chose to stop reading: exit 1 quietly, as
 * a process killed by SIGPIPE would. Any other stdout failure is reported.
 */
export function watchStdout(): void {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") process.stderr.write(`${describeError(e)}\n`);
    process.exit(e.code === "EPIPE" ? EXIT_FAILURE : EXIT_INTERNAL);
  });
}
