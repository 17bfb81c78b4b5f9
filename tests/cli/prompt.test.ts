import { PassThrough, Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { readPassword, readStdin } from "../../cli/prompt.js";
import { UsageError } from "../../cli/usage-error.js";

const ENV = "SECURE_MSG_TEST_PASSWORD";

/** A stand-in terminal: a stream with isTTY and setRawMode, recording the raw mode. */
function fakeTty(typed: string[]) {
  const stream = new PassThrough() as PassThrough & { isTTY: boolean; isRaw: boolean };
  stream.isTTY = true;
  stream.isRaw = false;
  const modes: boolean[] = [];
  Object.assign(stream, {
    setRawMode(mode: boolean) {
      stream.isRaw = mode;
      modes.push(mode);
      if (mode) setImmediate(() => stream.write(typed.shift() ?? ""));
      return stream;
    },
  });
  const output = new PassThrough();
  let printed = "";
  output.on("data", (d) => {
    printed += d;
  });
  return {
    input: stream as unknown as NodeJS.ReadStream,
    output: output as unknown as NodeJS.WriteStream,
    modes,
    printed: () => printed,
  };
}

afterEach(() => {
  delete process.env[ENV];
});

describe("readPassword", () => {
  it("takes the password from the environment variable, even an empty one", async () => {
    const tty = fakeTty([]);
    process.env[ENV] = "correct horse";
    expect(await readPassword({ envVar: ENV, prompt: "Password: ", ...tty })).toBe("correct horse");
    process.env[ENV] = "";
    expect(await readPassword({ envVar: ENV, prompt: "Password: ", ...tty })).toBe("");
    expect(tty.printed()).toBe("");
  });

  it("is a UsageError naming the variable without a terminal", async () => {
    const input = Readable.from([]) as unknown as NodeJS.ReadStream;
    await expect(readPassword({ envVar: ENV, prompt: "Password: ", input })).rejects.toSatisfy(
      (e) => e instanceof UsageError && e.name === "UsageError" && e.message.includes(ENV),
    );
  });

  it("reads a line with echo off, handles backspace and restores the mode", async () => {
    const tty = fakeTty(["pass\u007fs\r"]);
    expect(await readPassword({ envVar: ENV, prompt: "Password: ", ...tty })).toBe("pass");
    expect(tty.printed()).toBe("Password: \n");
    expect(tty.modes).toEqual([true, false]);
  });

  it("checks the repeated password", async () => {
    const ok = fakeTty(["pw\r", "pw\n"]);
    expect(await readPassword({ envVar: ENV, prompt: "P: ", confirm: true, ...ok })).toBe("pw");
    expect(ok.printed()).toBe("P: \nRepeat password: \n");
    const bad = fakeTty(["pw\r", "pv\r"]);
    await expect(
      readPassword({ envVar: ENV, prompt: "P: ", confirm: true, ...bad }),
    ).rejects.toThrow(UsageError);
  });

  it("aborts on Ctrl-C with code ABORTED", async () => {
    const tty = fakeTty(["pa\u0003"]);
    await expect(readPassword({ envVar: ENV, prompt: "P: ", ...tty })).rejects.toMatchObject({
      code: "ABORTED",
    });
    expect(tty.modes).toEqual([true, false]);
  });
});

describe("readStdin", () => {
  it("reads all input as bytes", async () => {
    const input = Readable.from([Buffer.from("ab"), Buffer.from("c")]);
    expect(await readStdin(3, input)).toEqual(new Uint8Array([97, 98, 99]));
  });

  it("is a UsageError past the limit", async () => {
    const input = Readable.from([Buffer.from("ab"), Buffer.from("cd")]);
    await expect(readStdin(3, input)).rejects.toThrow(UsageError);
  });
});
