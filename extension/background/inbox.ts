/**
 * New messages (issue 4, "Background service worker"): the "poll" alarm and, while the
 * worker is alive, the relay's event stream fetch them; the outbox is retried on the same
 * beat. The badge shows the unread count; a notification names the sender, never the text.
 */
import type { Client } from "../../protocol/client.js";
import { ProtocolError } from "../../protocol/errors.js";
import type { FetchResult } from "../shared/messages.js";
import type { BrowserApi } from "./browser.js";
import type { Session } from "./session.js";

/** For work nobody awaits: the error's name only, as its message might quote data. */
function quiet(e: unknown): void {
  console.error("inbox:", e instanceof Error ? e.name : typeof e);
}

export class Inbox {
  #watch: AbortController | null = null;
  #polling: Promise<void> | null = null;
  #again = false;

  constructor(
    private readonly session: Session,
    private readonly browser: BrowserApi,
  ) {}

  /** Sends the outbox and fetches the inbox; relay failures reach the caller. */
  async fetch(client: Client): Promise<FetchResult> {
    const outbox = await client.flushOutbox();
    const inbox = await client.fetchInbox();
    return {
      received: inbox.received.map((m) => m.from),
      rejected: inbox.rejected,
      pending: inbox.pending,
      outbox: { sent: outbox.sent, queued: outbox.queued, failed: outbox.failed },
    };
  }

  /** The alarm's beat: never throws for relay trouble (the next beat tries again). */
  poll(): Promise<void> {
    if (this.#polling) {
      this.#again = true; // an event came in during a fetch: fetch once more after it
      return this.#polling;
    }
    this.#polling = this.pollOnce().finally(() => {
      this.#polling = null;
      if (this.#again) {
        this.#again = false;
        this.poll().catch(quiet);
      }
    });
    return this.#polling;
  }

  private async pollOnce(): Promise<void> {
    const client = await this.session.client();
    if (!client) return this.stop();
    try {
      const r = await this.fetch(client);
      await this.notify(r.received);
    } catch (e) {
      if (!ProtocolError.is(e)) throw e;
    }
    this.watch(client);
    await this.badge();
  }

  /** Shows the unread count on the toolbar icon (nothing when locked or all read). */
  async badge(): Promise<number> {
    const client = await this.session.client();
    let n = 0;
    try {
      if (client)
        for (const c of this.session
          .marks()
          .unread(await client.history())
          .values())
          n += c;
    } catch (e) {
      if (!ProtocolError.is(e, "LOCKED")) throw e; // locked meanwhile: nothing to show
    }
    await this.browser.action.setBadgeText({ text: n > 0 ? String(n) : "" });
    return n;
  }

  /** One notification per sender; it never includes the text. */
  private async notify(senders: string[]): Promise<void> {
    const api = this.browser.notifications;
    const icons = this.browser.runtime.getManifest().icons ?? {};
    const best = Math.max(...Object.keys(icons).map(Number));
    const icon = icons[best];
    if (!api || icon === undefined) return; // Chrome requires an icon
    for (const from of new Set(senders)) {
      await api
        .create({
          type: "basic",
          iconUrl: this.browser.runtime.getURL(icon),
          title: "SECURE-MSG",
          message: `New message from ${from}`,
        })
        .catch(() => undefined);
    }
  }

  /** Follows the relay's event stream while the worker lives; the next beat restarts it. */
  private watch(client: Client): void {
    if (this.#watch) return;
    const ctl = new AbortController();
    this.#watch = ctl;
    client
      .watchInbox(ctl.signal, (e) => {
        if (e === "message") this.poll().catch(quiet);
      })
      .catch(() => undefined)
      .finally(() => {
        if (this.#watch === ctl) this.#watch = null;
      });
  }

  /** Stops the event stream and clears the badge (on lock). */
  async stop(): Promise<void> {
    this.#watch?.abort();
    this.#watch = null;
    await this.browser.action.setBadgeText({ text: "" });
  }
}
