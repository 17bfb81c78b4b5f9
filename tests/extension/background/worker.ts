/**
 * Builds a background worker for tests: the real IdbStorage (over fake-indexeddb), Session,
 * Inbox, handlers and dispatch, with a fake browser. Requests and answers cross a JSON
 * round trip, as `runtime.sendMessage` serialises them in Chrome.
 */
import { dispatch } from "../../../extension/background/dispatch.js";
import type { Context } from "../../../extension/background/handlers.js";
import { IdbStorage } from "../../../extension/background/idb-storage.js";
import { Inbox } from "../../../extension/background/inbox.js";
import { Session } from "../../../extension/background/session.js";
import type { Sender } from "../../../extension/background/trust.js";
import { fromWire } from "../../../extension/shared/errors.js";
import type {
  Reply,
  RequestOf,
  RequestType,
  Responses,
} from "../../../extension/shared/messages.js";
import { FakeBrowser, popup } from "./fake-browser.js";

/** A cheap Argon2id for tests only; the product's default is untouched. */
export const kdf = { m: 1024, t: 1, p: 1 };
export const PASSWORD = "correct horse battery";
export const offline = (async () => {
  throw new TypeError("fetch failed");
}) as typeof fetch;

const wire = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
let dbs = 0;

export async function worker(
  opts: { browser?: FakeBrowser; db?: string; fetch?: typeof fetch; now?: () => number } = {},
) {
  const browser = opts.browser ?? new FakeBrowser();
  const db = opts.db ?? `secure-msg-test-${++dbs}-${Math.random().toString(36).slice(2)}`;
  const storage = await IdbStorage.open(db);
  const session = new Session(storage, browser, {
    kdf,
    fetch: opts.fetch ?? offline,
    ...(opts.now ? { now: opts.now } : {}),
  });
  await session.start();
  const ctx: Context = { session, inbox: new Inbox(session, browser) };

  /** What the sender gets back, as it crossed the boundary. */
  const ask = async <T extends RequestType>(
    req: RequestOf<T>,
    sender: Sender = popup,
  ): Promise<Reply<Responses[T]>> =>
    wire(await dispatch(ctx, wire(req), sender)) as Reply<Responses[T]>;

  /** The result, or the rebuilt error thrown (as `sendRequest` does). */
  const call = async <T extends RequestType>(
    req: RequestOf<T>,
    sender: Sender = popup,
  ): Promise<Responses[T]> => {
    const r = await ask(req, sender);
    if (!r.ok) throw fromWire(r.error);
    return r.value;
  };

  return { browser, storage, session, ctx, db, ask, call };
}

export type Worker = Awaited<ReturnType<typeof worker>>;
