/**
 * What a relay process says about itself: its Prometheus text at /metrics (loopback-only
 * by default, and these tests are on loopback) and the resident memory the kernel reports
 * for its pid.
 */
import { readFile } from "node:fs/promises";

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** The samples of one metric in Prometheus text format. */
export function samples(text: string, metric: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== metric) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

export async function metricsText(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  return res.text();
}

/** The sum of a metric's samples whose labels pass `where`. */
export async function metricSum(
  url: string,
  metric: string,
  where: (labels: Record<string, string>) => boolean = () => true,
): Promise<number> {
  return samples(await metricsText(url), metric)
    .filter((s) => where(s.labels))
    .reduce((n, s) => n + s.value, 0);
}

/** Responses with a 5xx status this process has sent, by method, route and status. */
export async function serverErrors(url: string): Promise<Sample[]> {
  return samples(await metricsText(url), "secure_msg_relay_requests_total").filter(
    (s) => (s.labels.status ?? "").startsWith("5") && s.value > 0,
  );
}

/** VmRSS of a process, in bytes, from /proc (Linux). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}
