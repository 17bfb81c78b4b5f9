/**
 * New-message events for SSE subscribers. In one process this is a map of listeners;
 * with several processes on PostgreSQL, the store's LISTEN/NOTIFY feeds `publish`.
 */
export interface MessageEvent {
  id: string;
  index: number;
}

export type Listener = (e: MessageEvent) => void;

export class EventHub {
  private readonly listeners = new Map<string, Set<Listener>>();

  subscribe(mailbox: string, listener: Listener): () => void {
    const set = this.listeners.get(mailbox) ?? new Set<Listener>();
    this.listeners.set(mailbox, set);
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(mailbox);
    };
  }

  publish(mailbox: string, e: MessageEvent): void {
    for (const l of this.listeners.get(mailbox) ?? []) l(e);
  }

  get subscribers(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }
}
