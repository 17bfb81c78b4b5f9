/**
 * A private PostgreSQL cluster for one test file: initdb into a temporary folder as the
 * `postgres` OS user (the tests run as root, and PostgreSQL refuses to run as root),
 * started with pg_ctl on a free loopback port with its socket in the same folder. The
 * tests stop and restart it at will; the shared server at 127.0.0.1:5432, which other
 * tests use at the same time, is never touched.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "./deployments.js";

const run = promisify(execFile);

/** The newest installed PostgreSQL's bin folder (Debian layout), if any. */
export function postgresBin(): string | undefined {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] && join(base, versions[0], "bin");
}

/** Why a private cluster cannot run here, or undefined when it can. */
export function clusterUnavailable(): string | undefined {
  if (!postgresBin()) return "no PostgreSQL server binaries under /usr/lib/postgresql";
  if (process.getuid?.() !== 0) return "not root: cannot run initdb as the postgres user";
  return undefined;
}

/**
 * Why the PostgreSQL variants are skipped, or undefined when they run. Under CI=true they
 * always run, so a machine without PostgreSQL fails them instead of passing silently.
 */
export function skipPostgres(): string | undefined {
  const why = clusterUnavailable();
  if (!why || process.env.CI === "true") return undefined;
  console.warn(`[reliability] skipping the PostgreSQL variants: ${why}`);
  return why;
}

export class PgCluster {
  /** Clusters not yet removed, so `removeAll()` can clean up after a test that timed out. */
  private static readonly live = new Set<PgCluster>();

  /** Removes every cluster this process created and has not removed yet. */
  static async removeAll(): Promise<void> {
    await Promise.all([...PgCluster.live].map((c) => c.remove()));
  }

  private constructor(
    private readonly bin: string,
    private readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get data(): string {
    return join(this.dir, "data");
  }

  /** Runs a server binary as the postgres user. */
  private pg(tool: string, args: string[]) {
    return run("runuser", ["-u", "postgres", "--", join(this.bin, tool), ...args], {
      cwd: this.dir,
      timeout: 60_000,
    });
  }

  static async create(): Promise<PgCluster> {
    const bin = postgresBin();
    const why = clusterUnavailable();
    if (!bin || why) throw new Error(`cannot start a private PostgreSQL cluster: ${why}`);
    const dir = await mkdtemp(join(tmpdir(), "secure-msg-pg-"));
    const id = async (flag: string) => Number((await run("id", [flag, "postgres"])).stdout);
    await chown(dir, await id("-u"), await id("-g"));
    const cluster = new PgCluster(bin, dir, await freePort());
    PgCluster.live.add(cluster);
    await cluster.pg("initdb", [
      "-D",
      cluster.data,
      "-U",
      "postgres",
      "-A",
      "trust",
      "-E",
      "UTF8",
      "--no-sync",
    ]);
    await cluster.start();
    return cluster;
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    await this.pg("pg_ctl", [
      "-D",
      this.data,
      "-l",
      join(this.dir, "server.log"),
      "-w",
      "-t",
      "60",
      "-o",
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c max_connections=200`,
      "start",
    ]);
  }

  /**
   * Stops the server: "immediate" is a crash (no checkpoint, connections cut), "fast"
   * a clean shutdown that still cuts every connection.
   */
  async stop(mode: "immediate" | "fast" = "immediate"): Promise<void> {
    await this.pg("pg_ctl", ["-D", this.data, "-m", mode, "-w", "-t", "60", "stop"]);
  }

  /**
   * Makes every new transaction read-only (`default_transaction_read_only`, reloaded
   * into running sessions), as a primary demoted to a standby would; `false` undoes it.
   */
  async readOnly(on: boolean): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on("error", () => undefined);
    await client.connect();
    try {
      await client.query("SET default_transaction_read_only = off");
      await client.query(`ALTER SYSTEM SET default_transaction_read_only = ${on ? "on" : "off"}`);
      await client.query("SELECT pg_reload_conf()");
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Stops the server if it runs and deletes the cluster. */
  async remove(): Promise<void> {
    PgCluster.live.delete(this);
    await this.stop("immediate").catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}
