/**
 * New-message events for SSE subscribers. In one process this is a map of listeners;
 * with several processes on PostgreSQL, the store's LISTEN/NOTIFY feeds `publish`.
 *
 * Streams are long-lived and outside every request timeout, so they are bounded: a
 * mailbox keeps its newest `perMailbox` streams (opening one more closes the oldest, so
 * a client that reconnects is never locked out by its own stale streams), and the
 * process holds at most `total` (a new one past that is refused).
 */
export interface MessageEvent {
  id: string;
  index: number;
}

export type Listener = (e: MessageEvent) => void;

export interface EventLimits {
  perMailbox: number;
  total: number;
}

export const EVENT_LIMITS: EventLimits = { perMailbox: 8, total: 10_000 };

export class EventHub {
  /** Per mailbox, its listeners oldest first, each with what closes its stream. */
  private readonly listeners = new Map<string, Map<Listener, () => void>>();
  #count = 0;

  constructor(private readonly limits: EventLimits = EVENT_LIMITS) {}

  /**
   * Adds a listener and returns what removes it, or undefined when the process holds
   * `total` already. If the mailbox has `perMailbox` listeners, the oldest is removed
   * first and its `evict` runs (it should close that stream).
   */
  subscribe(mailbox: string, listener: Listener, evict: () => void): (() => void) | undefined {
    const mine = this.listeners.get(mailbox) ?? new Map<Listener, () => void>();
    if (mine.size >= this.limits.perMailbox) {
      const [oldest, close] = mine.entries().next().value!;
      this.#remove(mailbox, mine, oldest);
      close();
    } else if (this.#count >= this.limits.total) return undefined;
    this.listeners.set(mailbox, mine);
    mine.set(listener, evict);
    this.#count++;
    return () => this.#remove(mailbox, mine, listener);
  }

  #remove(mailbox: string, mine: Map<Listener, () => void>, listener: Listener): void {
    if (!mine.delete(listener)) return;
    this.#count--;
    if (mine.size === 0 && this.listeners.get(mailbox) === mine) this.listeners.delete(mailbox);
  }

  publish(mailbox: string, e: MessageEvent): void {
    for (const l of [...(this.listeners.get(mailbox)?.keys() ?? [])]) l(e);
  }

  get subscribers(): number {
    return this.#count;
  }
}
