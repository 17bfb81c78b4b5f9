/**
 * `npm run bench [-- --quick] [-- --only <suite>[,<suite>…]]` (issue 6): SECURE-MSG side by
 * side with OpenPGP.js, libsignal and a bare Hono server, in one run on one machine.
 *
 * A full run of every suite writes bench/results/latest.{md,json}, which the README
 * quotes. A --quick (smoke) run or an --only run writes .ci/out/bench-quick.* or
 * .ci/out/bench-partial.* instead, so it never replaces the committed full results.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { useNodeCrypto } from "../cli/node-crypto.js";
import { messages } from "./messages.js";
import { relay } from "./relay.js";
import { machine, type Section, type Suite, writeReport } from "./report.js";
import { scale } from "./scale.js";
import { sessions } from "./sessions.js";
import { unlock } from "./unlock.js";

const SUITES: Record<string, Suite> = { messages, sessions, relay, unlock, scale };
// Our side in Node runs as the CLI does: AES-256-GCM, SHA-256 and HMAC from node:crypto
// (cli/node-crypto.ts). The messages suite also measures the portable code (WebCrypto's
// AES-GCM, @noble/hashes), as the extension runs it.
useNodeCrypto();

const ROOT = fileURLToPath(new URL("..", import.meta.url));

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string", multiple: true },
    out: { type: "string" },
  },
});
const only = (values.only ?? []).flatMap((s) => s.split(",")).filter(Boolean);
for (const name of only) {
  if (!(name in SUITES)) {
    console.error(`unknown suite "${name}": one of ${Object.keys(SUITES).join(", ")}`);
    process.exit(2);
  }
}
const quick = values.quick;
const selected = only.length > 0 ? only : Object.keys(SUITES);
const started = performance.now();
/** Progress on stderr, with the seconds since the run started. */
const log = (line: string) =>
  console.error(`[bench ${((performance.now() - started) / 1000).toFixed(1)} s] ${line}`);

const m = machine();
const sections: Section[] = [];
for (const name of selected) {
  const t = performance.now();
  const section = await SUITES[name]!({ quick, log });
  section.seconds = Math.round((performance.now() - t) / 100) / 10;
  log(`${name}: ${section.seconds} s`);
  sections.push(section);
}

const [dir, file] = values.out
  ? [values.out, "bench"]
  : quick
    ? [join(ROOT, ".ci", "out"), "bench-quick"]
    : only.length > 0
      ? [join(ROOT, ".ci", "out"), "bench-partial"]
      : [join(ROOT, "bench", "results"), "latest"];
const written = await writeReport(dir, file, sections, m, quick);
log(`done in ${Math.round((performance.now() - started) / 1000)} s: ${written.join(", ")}`);
const missed = sections.flatMap((s) => s.rows.filter((r) => r.met === false).map((r) => r.measure));
if (missed.length > 0) log(`goals missed: ${missed.join("; ")}`);
