/**
 * The bench report: one Markdown table per suite and the same data as JSON, with the
 * machine they were measured on. A full run writes bench/results/latest.{md,json}, which
 * the README quotes; a --quick run writes elsewhere (main.ts).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import type { Summary } from "./stats.js";

export interface Row {
  measure: string;
  unit: string;
  ours?: Summary;
  theirs?: Summary;
  /** Median of ours over median of theirs. */
  ratio?: number;
  goal?: string;
  /** Whether the goal is met; undefined when the row has no goal. */
  met?: boolean;
  /** Shown in brackets after our median instead of the spread (e.g. "p99 12 ms"). */
  detail?: string;
}

export interface Section {
  id: string;
  title: string;
  /** The column header for the other side ("OpenPGP.js 6", "libsignal 0.103", …). */
  competitor: string;
  rows: Row[];
  /** Plain sentences under the table: what was measured, and why we are behind. */
  notes: string[];
  seconds?: number;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  /** 1-minute load average when the run started: other work on the machine skews numbers. */
  loadAtStart: number;
  date: string;
}

export function machine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAtStart: Math.round(loadavg()[0]! * 100) / 100,
    date: new Date().toISOString(),
  };
}

/** A row comparing two summaries, with the ratio of medians and an optional goal. */
export function compare(
  measure: string,
  unit: string,
  ours: Summary,
  theirs: Summary,
  goal?: { text: string; test: (ratio: number) => boolean },
): Row {
  const r = ours.median / theirs.median;
  return {
    measure,
    unit,
    ours,
    theirs,
    ratio: r,
    ...(goal ? { goal: goal.text, met: goal.test(r) } : {}),
  };
}

export function single(value: number): Summary {
  return { median: value, min: value, max: value, n: 1 };
}

function num(x: number): string {
  if (!Number.isFinite(x)) return "–";
  const a = Math.abs(x);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

function cell(s: Summary | undefined, unit: string, detail?: string): string {
  if (!s) return "";
  const v = `${num(s.median)} ${unit}`.trim();
  if (detail) return `${v} (${detail})`;
  return s.n > 1 && s.min !== s.max ? `${v} (${num(s.min)}–${num(s.max)})` : v;
}

export function formatNumber(x: number): string {
  return num(x);
}

function ratioCell(r: number | undefined): string {
  if (r === undefined || !Number.isFinite(r)) return "";
  return r >= 0.995 || r < 0.1 ? `${num(r)}×` : `${(r * 100).toFixed(1)} %`;
}

export function markdown(sections: Section[], m: Machine, quick: boolean): string {
  const out = [
    `# SECURE-MSG benchmarks${quick ? " (--quick smoke run: not for quoting)" : ""}`,
    "",
    `Measured ${m.date} on ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node} ` +
      `(${m.platform}); load average ${m.loadAtStart} at the start.`,
    "Cells are the median over rounds run in alternation (A B A B …), with the min–max",
    "spread in brackets; the ratio is SECURE-MSG's median over the other side's.",
    "",
  ];
  for (const s of sections) {
    out.push(`## ${s.title}`, "");
    out.push(`| Measure | SECURE-MSG | ${s.competitor} | Ratio | Goal | Met |`);
    out.push("| --- | --- | --- | --- | --- | --- |");
    for (const r of s.rows) {
      const met = r.met === undefined ? "" : r.met ? "yes" : "**no**";
      out.push(
        `| ${r.measure} | ${cell(r.ours, r.unit, r.detail)} | ${cell(r.theirs, r.unit)} | ${ratioCell(r.ratio)} | ${r.goal ?? ""} | ${met} |`,
      );
    }
    out.push("");
    for (const n of s.notes) out.push(`- ${n}`);
    if (s.notes.length > 0) out.push("");
  }
  return `${out.join("\n")}\n`;
}

/** Writes `<dir>/<name>.md` and `<dir>/<name>.json`; returns their paths. */
export async function writeReport(
  dir: string,
  name: string,
  sections: Section[],
  m: Machine,
  quick: boolean,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const md = join(dir, `${name}.md`);
  const json = join(dir, `${name}.json`);
  await writeFile(md, markdown(sections, m, quick));
  await writeFile(json, `${JSON.stringify({ machine: m, quick, sections }, null, 2)}\n`);
  return [md, json];
}

export interface SuiteOptions {
  /** Smoke run: tiny sizes and durations, numbers not for quoting. */
  quick: boolean;
  /** Progress lines (stderr). */
  log: (line: string) => void;
}

export type Suite = (o: SuiteOptions) => Promise<Section>;
