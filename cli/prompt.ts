/**
 * Reading secrets and input for the CLI: a password from an environment variable or a
 * terminal with echo off, and stdin as bytes with a size limit. Passwords are never
 * printed, not even as `*`s.
 */
import { StringDecoder } from "node:string_decoder";
import { UsageError } from "./usage-error.js";

export interface PasswordOptions {
  /** Checked first, so scripts need no terminal. An empty value counts as set. */
  envVar: string;
  prompt: string;
  /** Ask twice and require the same answer, for a new password. */
  confirm?: boolean;
  input?: NodeJS.ReadStream;
  output?: NodeJS.WriteStream;
}

export async function readPassword(opts: PasswordOptions): Promise<string> {
  const fromEnv = process.env[opts.envVar];
  if (fromEnv !== undefined) return fromEnv;
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stderr;
  if (!input.isTTY) throw new UsageError(`no password: set ${opts.envVar} or run on a terminal`);
  const password = await readHidden(input, output, opts.prompt);
  if (opts.confirm && (await readHidden(input, output, "Repeat password: ")) !== password) {
    throw new UsageError("the passwords do not match");
  }
  return password;
}

function aborted(): Error {
  return Object.assign(new Error("aborted"), { code: "ABORTED" });
}

/** Reads one line from a terminal in raw mode, so the typed characters are not echoed. */
function readHidden(
  input: NodeJS.ReadStream,
  output: NodeJS.WriteStream,
  prompt: string,
): Promise<string> {
  output.write(prompt);
  const wasRaw = input.isRaw;
  const decoder = new StringDecoder("utf8");
  let line = "";
  return new Promise<string>((resolve, reject) => {
    const finish = (err: Error | undefined) => {
      input.off("data", onData);
      input.off("end", onEnd);
      input.setRawMode(wasRaw);
      input.pause();
      output.write("\n");
      if (err) reject(err);
      else resolve(line);
    };
    const onEnd = () => finish(aborted());
    const onData = (chunk: Buffer | string) => {
      const text = typeof chunk === "string" ? chunk : decoder.write(chunk);
      for (const ch of text) {
        if (ch === "\r" || ch === "\n") return finish(undefined);
        // Ctrl-C; Ctrl-D on an empty line. Raw mode turns off the terminal's own handling.
        if (ch === "\u0003" || (ch === "\u0004" && line === "")) return finish(aborted());
        if (ch === "\u007f" || ch === "\b") line = [...line].slice(0, -1).join("");
        // An escape sequence (arrow keys and the like): drop the rest of it.
        else if (ch === "\u001b") return;
        else if (ch >= " ") line += ch;
      }
    };
    try {
      input.setRawMode(true);
      input.on("data", onData);
      input.once("end", onEnd);
      input.resume();
    } catch (e) {
      input.off("data", onData);
      input.off("end", onEnd);
      input.setRawMode(wasRaw);
      reject(e);
    }
  });
}

/** All of stdin (or `input`) as bytes; more than `limitBytes` is a UsageError. */
export async function readStdin(
  limitBytes = 16 * 1024 * 1024,
  input: AsyncIterable<Buffer | string> = process.stdin,
): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of input) {
    const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    total += b.length;
    if (total > limitBytes) throw new UsageError(`input is larger than ${limitBytes} bytes`);
    chunks.push(b);
  }
  return new Uint8Array(Buffer.concat(chunks, total));
}
