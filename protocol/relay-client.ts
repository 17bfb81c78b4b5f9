/**
 * The typed relay client (docs/protocol.md §13): HTTP calls to one relay, with every
 * signature the relay makes verified against keys pinned on first use. Nothing read from
 * a relay is returned unverified: a bad signature or proof is BAD_SIGNATURE, a changed
 * relay key is RELAY_KEY_CHANGED, a relay that cannot be reached is RELAY_UNAVAILABLE.
 * Uses only `fetch`, so it runs in Node and in the extension's service worker.
 */
import type { z } from "zod";
import { base64url, equal, randomBytes, utf8 } from "./bytes.js";
import { envelopeId } from "./envelope.js";
import { fail } from "./errors.js";
import { formatFingerprint } from "./identity.js";
import { Label, labelledHash, sha256 } from "./kdf.js";
import * as merkle from "./merkle.js";
import { verifyReceipt } from "./receipt.js";
import * as api from "./relay-api.js";
import { readCapped, readEvents } from "./relay-stream.js";
import { verifyHybrid } from "./sign.js";

/** What a client remembers of a relay: its keys (pinned on first use) and log head. */
export interface RelayPin {
  url: string;
  hybrid: Uint8Array;
  ed25519: Uint8Array;
  /** The newest checkpoint seen: later ones must extend it (consistency proofs). */
  checkpoint?: { size: number; root: Uint8Array };
}

/** Signs a relay request as a user (the Ed25519 half of their identity key). */
export interface RequestSigner {
  name: string;
  sign(body: Uint8Array): Promise<Uint8Array>;
}

export interface VerifiedMessage {
  id: Uint8Array;
  at: number;
  index: number;
  envelope: Uint8Array;
}

export interface RelayClientOptions {
  pin?: RelayPin;
  /** Accept keys that differ from the pin (the user re-verified the relay). */
  acceptChangedKeys?: boolean | string;
  fetch?: typeof fetch;
  now?: () => number;
  timeoutMs?: number;
}

const d = (s: string) => base64url.decode(s);

/**
 * The largest answer read from a relay: an inbox page of INBOX_PAGE envelopes of the
 * largest size, in base64. A relay (possibly a stranger's, named in a contact's bundle)
 * cannot make a client buffer more.
 */
export const INBOX_PAGE = 16;
const MAX_RESPONSE_BYTES = INBOX_PAGE * 1.5 * 1024 * 1024 + 1024 * 1024;

/**
 * A relay's fingerprint: SHA-256 over a label, its hybrid key and its Ed25519 receipt
 * key, so comparing it out of band checks both keys (§13.2).
 */
export function relayFingerprint(keys: { hybrid: Uint8Array; ed25519: Uint8Array }): string {
  return formatFingerprint(labelledHash(Label.relayFingerprint, keys.hybrid, keys.ed25519));
}

export class RelayClient {
  private pin: RelayPin | undefined;
  private checked = false;
  private limits: api.InfoResponse["limits"] | undefined;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private readonly timeoutMs: number;

  constructor(
    readonly url: string,
    private readonly opts: RelayClientOptions = {},
  ) {
    this.pin = opts.pin;
    // Call the global fetch through a wrapper: browsers throw "Illegal invocation" when
    // fetch is called as a method of another object.
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.now = opts.now ?? Date.now;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
  }

  /** The pin after this client's calls: store it when it changed. */
  get pinned(): RelayPin | undefined {
    return this.pin;
  }

  // --- transport ----------------------------------------------------------------------

  private async call<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    opts: { body?: unknown; signer?: RequestSigner; signal?: AbortSignal } = {},
  ): Promise<z.infer<S>> {
    const res = await this.send(method, path, opts);
    const text = await readCapped(res, MAX_RESPONSE_BYTES);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const err = api.ErrorResponse.safeParse(json);
      const detail = err.success
        ? `${err.data.error.code}: ${err.data.error.message}`
        : `HTTP ${res.status}`;
      // 5xx, and 408/429 ("retry later": rate limits, a full mailbox), are temporary.
      if (res.status >= 500 || res.status === 408 || res.status === 429)
        fail("RELAY_UNAVAILABLE", `the relay is unavailable for now (${detail})`);
      fail("RELAY_REJECTED", `the relay refused: ${detail}`);
    }
    const r = schema.safeParse(json);
    if (!r.success) fail("BAD_ENCODING", `the relay's answer to ${method} ${path} is malformed`);
    return r.data;
  }

  /** Sends a request; network failures and timeouts are RELAY_UNAVAILABLE. */
  async send(
    method: string,
    path: string,
    opts: { body?: unknown; signer?: RequestSigner; signal?: AbortSignal; stream?: boolean } = {},
  ): Promise<Response> {
    const body = opts.body === undefined ? new Uint8Array(0) : utf8(JSON.stringify(opts.body));
    const headers: Record<string, string> = {};
    if (opts.body !== undefined) headers["content-type"] = "application/json";
    if (opts.signer) {
      const pin = await this.keys();
      const time = this.now();
      const nonce = randomBytes(api.NONCE_LENGTH);
      const signed = api.requestBody({
        method,
        path,
        name: opts.signer.name,
        time,
        nonce,
        body,
        relayKey: pin.ed25519,
      });
      headers[api.Header.user] = opts.signer.name;
      headers[api.Header.time] = String(time);
      headers[api.Header.nonce] = base64url.encode(nonce);
      headers[api.Header.signature] = base64url.encode(await opts.signer.sign(signed));
    }
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = opts.stream
      ? opts.signal
      : opts.signal
        ? AbortSignal.any([opts.signal, timeout])
        : timeout;
    try {
      return await this.fetchFn(new URL(path, `${this.url}/`).href, {
        method,
        headers,
        ...(opts.body !== undefined ? { body: body as BodyInit } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (e) {
      return fail("RELAY_UNAVAILABLE", `cannot reach the relay at ${this.url}`, e);
    }
  }

  // --- calls ----------------------------------------------------------------------------

  /** Reads the relay's keys and pins them on first use; a changed key is refused. */
  async info(): Promise<api.InfoResponse> {
    const info = await this.call("GET", "/v1/info", api.InfoResponse);
    const hybrid = d(info.keys.hybrid);
    const ed = d(info.keys.ed25519);
    if (this.pin && !(equal(this.pin.hybrid, hybrid) && equal(this.pin.ed25519, ed))) {
      const accept = this.opts.acceptChangedKeys;
      // A fingerprint accepts exactly the keys the user was shown, not whatever comes next.
      if (
        !accept ||
        (typeof accept === "string" && accept !== relayFingerprint({ hybrid, ed25519: ed }))
      )
        fail(
          "RELAY_KEY_CHANGED",
          `the relay at ${this.url} has new keys: it may be an impostor; accept only after checking its fingerprint`,
        );
      this.pin = { url: this.url, hybrid, ed25519: ed };
    }
    this.pin ??= { url: this.url, hybrid, ed25519: ed };
    this.checked = true;
    this.limits = info.limits;
    return info;
  }

  /** The relay's keys, checked against the pin once per client (a GET /v1/info). */
  private async keys(): Promise<RelayPin> {
    if (!this.checked) await this.info();
    return this.pin!;
  }

  private async verifyCheckpoint(c: api.Checkpoint): Promise<{ size: number; root: Uint8Array }> {
    const pin = await this.keys();
    const root = d(c.root);
    const body = api.checkpointBody({ size: c.size, root, at: c.at });
    if (!(await verifyHybrid(pin.hybrid, api.Context.checkpoint, body, d(c.signature))))
      fail("BAD_SIGNATURE", "the relay's checkpoint signature does not verify");
    return { size: c.size, root };
  }

  /** Checks the new checkpoint extends the pinned one, then pins it (§13.2). */
  private async advance(
    cp: { size: number; root: Uint8Array },
    proof: string[] | null,
  ): Promise<void> {
    const old = this.pin?.checkpoint;
    if (old && cp.size < old.size)
      fail("BAD_SIGNATURE", "the relay's log shrank: it was rolled back or forked");
    if (old && cp.size >= old.size) {
      if (!proof || !merkle.verifyConsistency(old.size, cp.size, old.root, cp.root, proof.map(d)))
        fail("BAD_SIGNATURE", "the relay's log does not extend the one seen before: it forked");
    }
    if (this.pin) this.pin = { ...this.pin, checkpoint: cp };
  }

  async register(bundle: Uint8Array, name: string): Promise<api.DirectoryEntry> {
    await this.keys();
    const e = await this.call(
      "PUT",
      `/v1/directory/${encodeURIComponent(name)}`,
      api.DirectoryEntry,
      {
        body: { bundle: base64url.encode(bundle) },
      },
    );
    await this.verifyEntry(e, bundle);
    return e;
  }

  private async verifyEntry(e: api.DirectoryEntry, expected?: Uint8Array): Promise<Uint8Array> {
    const pin = await this.keys();
    const bundle = d(e.bundle);
    if (expected && !equal(bundle, expected))
      fail("BAD_SIGNATURE", "the relay stored another bundle");
    const leaf = api.entryBody({ name: e.name, bundleHash: sha256(bundle), at: e.at });
    if (!(await verifyHybrid(pin.hybrid, api.Context.directory, leaf, d(e.signature))))
      fail("BAD_SIGNATURE", "the relay's directory signature does not verify");
    return leaf;
  }

  /** Looks a user up; the entry must be signed and in a signed checkpoint. */
  async lookup(name: string): Promise<Uint8Array> {
    const e = await this.call(
      "GET",
      `/v1/directory/${encodeURIComponent(name)}`,
      api.DirectoryResponse,
    );
    if (e.name !== name) fail("BAD_SIGNATURE", "the relay answered for another name");
    const leaf = await this.verifyEntry(e);
    const cp = await this.verifyCheckpoint(e.checkpoint);
    if (!merkle.verifyInclusion(merkle.leafHash(leaf), e.index, cp.size, e.proof.map(d), cp.root))
      fail("BAD_SIGNATURE", "the relay's inclusion proof for the directory entry does not verify");
    return d(e.bundle);
  }

  /** Deposits an envelope; the receipt must verify. */
  async deposit(
    to: string,
    envelope: Uint8Array,
  ): Promise<{ id: Uint8Array; at: number; duplicate: boolean }> {
    // Check the relay's keys before it receives anything.
    await this.keys();
    const r = await this.call("POST", "/v1/messages", api.DepositResponse, {
      body: { to, envelope: base64url.encode(envelope) },
    });
    const pin = await this.keys();
    const leaf = api.receiptBody({ id: d(r.id), to, envelopeHash: sha256(envelope), at: r.at });
    if (!(await verifyReceipt(pin.ed25519, leaf, d(r.receipt))))
      fail("BAD_SIGNATURE", "the relay's receipt does not verify");
    return { id: d(r.id), at: r.at, duplicate: r.duplicate };
  }

  /**
   * Fetches the inbox. Each message's receipt and inclusion proof are checked against one
   * hybrid-signed checkpoint that must extend the pinned one. Messages that fail are
   * returned apart (`rejected`) so the caller can warn and drop them.
   */
  async fetchInbox(
    signer: RequestSigner,
    limit?: number,
  ): Promise<{ messages: VerifiedMessage[]; rejected: { id: Uint8Array; reason: string }[] }> {
    await this.keys(); // also learns the relay's limits
    const q = new URLSearchParams();
    const max = this.limits?.maxInboxMessages ?? INBOX_PAGE;
    q.set("limit", String(Math.min(limit ?? INBOX_PAGE, INBOX_PAGE, max)));
    const since = this.pin?.checkpoint?.size;
    if (since) q.set("since", String(since));
    const path = `/v1/inbox${q.size ? `?${q}` : ""}`;
    const r = await this.call("GET", path, api.InboxResponse, { signer });
    const pin = await this.keys();
    const messages: VerifiedMessage[] = [];
    const rejected: { id: Uint8Array; reason: string }[] = [];
    if (r.messages.length > 0 && !r.checkpoint)
      fail("BAD_SIGNATURE", "the relay sent messages without a checkpoint");
    const cp = r.checkpoint ? await this.verifyCheckpoint(r.checkpoint) : undefined;
    if (cp) await this.advance(cp, r.consistency);
    for (const m of r.messages) {
      const id = d(m.id);
      const envelope = d(m.envelope);
      const leaf = api.receiptBody({
        id,
        to: signer.name,
        envelopeHash: sha256(envelope),
        at: m.at,
      });
      if (!equal(id, envelopeId(envelope))) {
        rejected.push({ id, reason: "the relay's message id does not match the message" });
      } else if (!(await verifyReceipt(pin.ed25519, leaf, d(m.receipt)))) {
        rejected.push({ id, reason: "the relay's receipt does not verify" });
      } else if (
        !merkle.verifyInclusion(merkle.leafHash(leaf), m.index, cp!.size, m.proof.map(d), cp!.root)
      ) {
        rejected.push({ id, reason: "the message is not in the relay's signed log" });
      } else {
        messages.push({ id, at: m.at, index: m.index, envelope });
      }
    }
    return { messages, rejected };
  }

  async ack(signer: RequestSigner, ids: Uint8Array[]): Promise<number> {
    if (ids.length === 0) return 0;
    const r = await this.call("POST", "/v1/inbox/ack", api.AckResponse, {
      signer,
      body: { ids: ids.map(base64url.encode) },
    });
    return r.deleted;
  }

  /**
   * Follows the inbox's event stream, calling `onMessage` for each new-message event,
   * until `signal` aborts or the stream ends.
   */
  async watch(
    signer: RequestSigner,
    signal: AbortSignal,
    onEvent: (e: "ready" | "message") => void,
  ): Promise<void> {
    const res = await this.send("GET", "/v1/inbox/events", { signer, signal, stream: true });
    if (!res.ok || !res.body)
      fail(
        res.status >= 500 || res.status === 408 || res.status === 429
          ? "RELAY_UNAVAILABLE"
          : "RELAY_REJECTED",
        `event stream refused (HTTP ${res.status})`,
      );
    await readEvents(res.body, signal, onEvent);
  }
}
