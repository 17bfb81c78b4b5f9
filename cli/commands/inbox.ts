/**
 * `secure-msg inbox`: fetch, verify, decrypt, store and acknowledge (Client.fetchInbox),
 * then print. With --watch it follows the inbox's event stream and fetches on each event,
 * reconnecting with backoff while the relay is away, until SIGINT or SIGTERM.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Client, Received } from "../../protocol/client.js";
import type { InboxResult } from "../../protocol/delivery.js";
import { ProtocolError } from "../../protocol/errors.js";
import type { ProfileOptions } from "../commands.js";
import { note, out, verifiedNote } from "../output.js";
import { ownRelay, withProfile } from "../profile.js";

interface InboxOptions extends ProfileOptions {
  json?: boolean;
  watch?: boolean;
  acceptRelayKey?: boolean;
}

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 10_000;

function format(m: Received, o: InboxOptions): string {
  const at = new Date(m.at).toISOString();
  if (o.json)
    return `${JSON.stringify({ id: m.id, from: m.from, at, text: m.text, verified: m.verified })}\n`;
  const who = m.verified ? `${m.from} (verified)` : `${m.from} (NOT verified)`;
  return `from: ${who}\nat: ${at}\n\n${m.text}${m.text.endsWith("\n") ? "" : "\n"}\n`;
}

/** Prints one fetch's result: messages on stdout, what was dropped or waits on stderr. */
function show(r: InboxResult, o: InboxOptions): void {
  for (const m of r.received) {
    if (m.newContact) note(`new contact: ${verifiedNote(o.profile, m.from, false)}`);
    out(format(m, o));
  }
  for (const x of r.rejected) note(`warning: dropped a message: ${x.reason}`);
  if (r.pending > 0) note(`${r.pending} message(s) wait for an earlier message`);
}

export async function inbox(o: InboxOptions): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  if (o.watch) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  try {
    await withProfile(o.profile, async (c) => {
      ownRelay(c);
      const accept = o.acceptRelayKey === true;
      if (o.watch) {
        await flush(c);
        await follow(c, o, accept, stop.signal);
        return;
      }
      const r = await c.fetchInbox({ acceptChangedRelayKeys: accept });
      show(r, o);
      if (r.received.length === 0) note("no new messages");
    });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** Delivers what waits in the outbox, so a long-running inbox also sends what it can. */
async function flush(c: Client): Promise<void> {
  if ((await c.outbox()).length === 0) return;
  const r = await c.flushOutbox();
  for (const e of r.errors) note(`warning: ${e.message} (${e.code})`);
  note(`outbox: sent ${r.sent}, still queued ${r.queued}, refused ${r.failed}`);
}

/**
 * Follows the event stream until `signal` aborts. Fetches are coalesced: events that come
 * during a fetch cause one more fetch after it. A relay that is away is waited for; any
 * other failure (a changed relay key, a forked log) ends the command.
 */
async function follow(
  c: Client,
  o: InboxOptions,
  accept: boolean,
  signal: AbortSignal,
): Promise<void> {
  const fatal = new AbortController();
  const live = AbortSignal.any([signal, fatal.signal]);
  let failure: unknown;
  let fetching: Promise<void> | undefined;
  let again = false;
  let pending = 0;
  const fetchNow = () => {
    if (fetching) {
      again = true;
      return;
    }
    fetching = (async () => {
      do {
        again = false;
        try {
          const r = await c.fetchInbox();
          show({ ...r, pending: r.pending === pending ? 0 : r.pending }, o);
          pending = r.pending;
        } catch (e) {
          // Unreachable: the stream breaks too, and its reconnection fetches again.
          if (ProtocolError.is(e, "RELAY_UNAVAILABLE")) note(`warning: ${e.message}`);
          else {
            failure ??= e;
            fatal.abort();
          }
        }
      } while (again && !live.aborted);
      fetching = undefined;
    })();
  };

  let delay = BACKOFF_MIN_MS;
  let away = false;
  let synced = false;
  let watching = false;
  while (!live.aborted) {
    try {
      // The first fetch, which may accept new relay keys (watching cannot), pins them.
      if (!synced) {
        const r = await c.fetchInbox({ acceptChangedRelayKeys: accept });
        show(r, o);
        pending = r.pending;
        synced = true;
      }
      await c.watchInbox(live, (event) => {
        if (event === "ready") {
          if (!watching) note(`watching the inbox of ${c.address} (Ctrl-C to stop)`);
          else if (away) note("reconnected to the relay");
          watching = true;
          away = false;
          delay = BACKOFF_MIN_MS;
        }
        fetchNow(); // on "ready" too: it catches what arrived while not listening
      });
    } catch (e) {
      if (!ProtocolError.is(e, "RELAY_UNAVAILABLE")) {
        failure ??= e;
        break;
      }
      if (!away) note(`warning: ${e.message}; reconnecting`);
      away = true;
    }
    if (live.aborted) break;
    await sleep(delay, undefined, { signal: live }).catch(() => undefined);
    delay = Math.min(delay * 2, BACKOFF_MAX_MS);
  }
  await fetching;
  if (failure !== undefined) throw failure;
}
