/**
 * Relay deployments for the reliability tests: compiled `secure-msg relay` processes on
 * 127.0.0.1, either one process on SQLite or several sharing one PostgreSQL database.
 * A test takes a `Launcher` and does not care which: the PostgreSQL variants are the
 * same tests with another launcher.
 *
 * Every process of a deployment serves the same public URL (`--public-url`), as
 * processes behind one reverse proxy do, so the users of a test file are made once.
 * Process 0 listens on that URL's port; a killed process restarts on its own port.
 */
import { createServer } from "node:net";
import { type RelayProcess, startRelay } from "../integration/helpers.js";

/** A free TCP port on 127.0.0.1 (the kernel picks it; it is released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Deployment {
  readonly name: string;
  readonly publicUrl: string;
  /** The processes' own URLs (where clients connect). */
  readonly urls: string[];
  /** The relay process serving urls[i] (replaced on restart). */
  process(i: number): RelayProcess;
  /** SIGKILL process i: no drain, no clean close of the database. */
  kill(i: number): Promise<void>;
  /** Starts process i again on the same port and data. */
  restart(i: number): Promise<void>;
  /** Stops every process gracefully; true when all exited 0. */
  stop(): Promise<boolean>;
  /** The error-level log lines (pino JSON) of every process, killed ones included. */
  errorLogs(): string[];
  /** Each current process: running, or how it exited and the end of its stderr. */
  describe(): string;
}

export interface Launcher {
  readonly backend: "sqlite" | "postgres";
  /** Starts `processes` relay processes serving `publicUrl` (whose port process 0 takes). */
  start(publicUrl: string, processes: number): Promise<Deployment>;
}

/** Relay flags of these tests. The limits stay at their defaults: they are part of the relay. */
function relayArgs(publicUrl: string, extra: string[]): string[] {
  return ["--public-url", publicUrl, ...extra];
}

async function deployment(
  name: string,
  publicUrl: string,
  processes: number,
  launch: (port: number) => Promise<RelayProcess>,
): Promise<Deployment> {
  const ports = [Number(new URL(publicUrl).port)];
  while (ports.length < processes) ports.push(await freePort());
  const running: RelayProcess[] = [];
  const all: RelayProcess[] = [];
  const start = async (port: number) => {
    const r = await launch(port);
    all.push(r);
    return r;
  };
  for (const port of ports) running.push(await start(port));
  return {
    name,
    publicUrl,
    urls: ports.map((p) => `http://127.0.0.1:${p}`),
    process: (i) => running[i]!,
    async kill(i) {
      const code = await running[i]!.stop("SIGKILL");
      if (code !== null) throw new Error(`relay ${i} exited ${code} before it was killed`);
    },
    async restart(i) {
      running[i] = await start(ports[i]!);
    },
    async stop() {
      const codes = await Promise.all(running.map((r) => r.stop("SIGTERM")));
      return codes.every((c) => c === 0);
    },
    describe: () =>
      running
        .map((r, i) => {
          const { exitCode, signalCode } = r.child;
          if (exitCode === null && signalCode === null) return `relay ${i}: running`;
          return `relay ${i}: exited ${exitCode ?? signalCode}: ${r.output.stderr.slice(-600)}`;
        })
        .join("\n"),
    errorLogs: () => all.flatMap((r) => r.output.lines.filter((l) => /"level":(50|60)\b/.test(l))),
  };
}

/** One relay process on SQLite in `dataDir` (more than one would share the file). */
export function sqliteLauncher(dataDir: string): Launcher {
  return {
    backend: "sqlite",
    start: (publicUrl, processes) =>
      deployment("sqlite", publicUrl, processes, (port) =>
        startRelay(dataDir, port, relayArgs(publicUrl, [])),
      ),
  };
}

/**
 * Relay processes on the PostgreSQL database at `databaseUrl`. They share one data
 * folder, which holds only the relay key file: every process signs with the same key.
 */
export function postgresLauncher(dataDir: string, databaseUrl: string): Launcher {
  return {
    backend: "postgres",
    start: (publicUrl, processes) =>
      deployment("postgres", publicUrl, processes, (port) =>
        startRelay(dataDir, port, relayArgs(publicUrl, ["--database-url", databaseUrl])),
      ),
  };
}
