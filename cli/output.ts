/**
 * What every command shares for talking to the user: results on stdout, notes on stderr,
 * `label: value` lines, and message text read from stdin.
 */
import { MAX_TEXT_BYTES } from "../protocol/envelope.js";
import { readStdin } from "./prompt.js";
import { UsageError } from "./usage-error.js";

export function out(text: string): void {
  process.stdout.write(text);
}

export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** `label: value` lines, for output a person reads and a script can still split. */
export function labelled(fields: [string, string][]): string {
  return fields.map(([k, v]) => `${k}: ${v}\n`).join("");
}

/** How to name this profile in a command we suggest. */
export function profileArg(dir: string): string {
  return /^[\w./@:+-]+$/.test(dir) ? dir : JSON.stringify(dir);
}

export function verifiedNote(dir: string, who: string, verified: boolean): string {
  return verified
    ? `${who} (verified)`
    : `${who} (NOT verified: compare safety numbers with ` +
        `'secure-msg fingerprint --profile ${profileArg(dir)} ${who}')`;
}

/** stdin as text, telling a user at a terminal how to end it. */
export async function readStdinText(what: string, limitBytes: number): Promise<Uint8Array> {
  if (process.stdin.isTTY) note(`Type or paste the ${what}, then press Ctrl-D on a new line.`);
  return readStdin(limitBytes);
}

/** A message to encrypt, from stdin: non-empty UTF-8, at most the protocol's 1 MiB. */
export async function readMessageText(): Promise<string> {
  const bytes = await readStdinText("message", MAX_TEXT_BYTES);
  if (bytes.length === 0) throw new UsageError("nothing to encrypt: stdin is empty");
  try {
    // ignoreBOM keeps a leading BOM, so the recipient gets exactly these bytes.
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new UsageError("the message must be UTF-8 text");
  }
}
