/**
 * The books of a reliability run: every deposit attempted and acknowledged, every message
 * fetched and by whom, every acknowledgement the relay confirmed, and every error by
 * operation and code. `audit()` compares them at the end (DESIGN §4 "Nothing lost").
 */
import { base64url } from "../../protocol/bytes.js";
import { ProtocolError } from "../../protocol/errors.js";

export type Operation = "deposit" | "fetch" | "ack";

export interface Audit {
  attempted: number;
  acknowledged: number;
  /** Acknowledged deposits their recipient never fetched. */
  lost: string[];
  /** Fetched ids nobody deposited. */
  phantom: string[];
  /** Fetched by someone other than the recipient they were deposited for. */
  misdelivered: string[];
  /**
   * Fetched more than once with no reason: neither was an acknowledgement's answer lost,
   * nor did the sender re-send after a deposit's answer was lost.
   */
  redelivered: string[];
  /**
   * Fetched more than once for a reason: an acknowledgement got no answer, or the sender
   * re-sent a deposit whose answer was lost (the relay stored it again after the
   * recipient had acknowledged the first copy). The client deduplicates these by id.
   */
  refetched: number;
  /** Deposits attempted but never acknowledged. */
  unacknowledged: number;
}

const key = (id: Uint8Array) => base64url.encode(id);

/** An error's message with its causes: a RELAY_UNAVAILABLE says little without them. */
function describe(e: unknown): string {
  const parts: string[] = [];
  for (let x = e; x instanceof Error && parts.length < 4; x = x.cause)
    parts.push(
      `${x.message}${(x as NodeJS.ErrnoException).code ? ` (${(x as NodeJS.ErrnoException).code})` : ""}`,
    );
  return parts.join(" <- ");
}

export class Ledger {
  private readonly attempts = new Map<string, string>();
  private readonly acknowledged = new Map<string, string>();
  private readonly fetched = new Map<string, { by: string; count: number }>();
  /** Ids whose ack the relay confirmed, and ids whose ack got no answer. */
  private readonly confirmed = new Set<string>();
  private readonly unconfirmed = new Set<string>();
  /** Ids with a deposit attempt that got no acknowledgement (so it was sent again). */
  private readonly resent = new Set<string>();
  readonly errors = new Map<string, number>();
  /** The first few errors of each kind, for the failure message. */
  readonly samples: string[] = [];
  readonly count = { deposits: 0, duplicates: 0, fetches: 0, messages: 0, acks: 0, requests: 0 };
  /** Deposits the relay answered as newly stored (201), as opposed to duplicates. */
  get stored(): number {
    return this.count.deposits - this.count.duplicates;
  }
  /** Ids that were sent more than once. */
  get resentCount(): number {
    return this.resent.size;
  }
  readonly depositMs: number[] = [];

  attempt(to: string, id: Uint8Array): void {
    this.attempts.set(key(id), to);
  }

  deposited(to: string, id: Uint8Array, duplicate: boolean, ms: number): void {
    this.acknowledged.set(key(id), to);
    this.count.deposits++;
    this.count.requests++;
    if (duplicate) this.count.duplicates++;
    this.depositMs.push(ms);
  }

  received(by: string, ids: Uint8Array[]): void {
    this.count.fetches++;
    this.count.requests++;
    this.count.messages += ids.length;
    for (const id of ids) {
      const k = key(id);
      const seen = this.fetched.get(k);
      if (seen) seen.count++;
      else this.fetched.set(k, { by, count: 1 });
      // Fetched again after a confirmed ack, and never re-sent: a relay bug.
      if (this.confirmed.has(k) && !this.resent.has(k))
        this.samples.push(`redelivered after a confirmed ack: ${k}`);
    }
  }

  /** A deposit attempt of `id` got no acknowledgement; the client will send it again. */
  unacknowledged(id: Uint8Array): void {
    this.resent.add(key(id));
  }

  acked(ids: Uint8Array[], confirmed: boolean): void {
    if (confirmed) this.count.acks++;
    this.count.requests++;
    for (const id of ids) (confirmed ? this.confirmed : this.unconfirmed).add(key(id));
  }

  /** Counts an error as `op:CODE` (ProtocolError codes; anything else is a bug in the test). */
  error(op: Operation, e: unknown): string {
    const code = ProtocolError.is(e) ? e.code : `THROWN(${(e as Error)?.name})`;
    const kind = `${op}:${code}`;
    const n = (this.errors.get(kind) ?? 0) + 1;
    this.errors.set(kind, n);
    if (n <= 3) this.samples.push(`${kind}: ${describe(e)}`);
    return kind;
  }

  errorCount(filter: (kind: string) => boolean = () => true): number {
    let n = 0;
    for (const [k, v] of this.errors) if (filter(k)) n += v;
    return n;
  }

  audit(): Audit {
    const lost: string[] = [];
    const misdelivered: string[] = [];
    for (const [id, to] of this.acknowledged) {
      const f = this.fetched.get(id);
      if (!f) lost.push(id);
      else if (f.by !== to) misdelivered.push(id);
    }
    const phantom = [...this.fetched.keys()].filter((id) => !this.attempts.has(id));
    const redelivered: string[] = [];
    let refetched = 0;
    for (const [id, f] of this.fetched) {
      if (f.count < 2) continue;
      if (this.unconfirmed.has(id) || this.resent.has(id)) refetched++;
      else redelivered.push(id);
    }
    let unacknowledged = 0;
    for (const id of this.attempts.keys()) if (!this.acknowledged.has(id)) unacknowledged++;
    return {
      attempted: this.attempts.size,
      acknowledged: this.acknowledged.size,
      lost,
      phantom,
      misdelivered,
      redelivered,
      refetched,
      unacknowledged,
    };
  }
}
