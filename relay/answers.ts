/**
 * Inbox answers on their way (docs/protocol.md §13.4). An answer is built whole (at most
 * `maxInboxBytes` of envelopes, about 6 MB as JSON) and stays in memory until the client
 * has read it, so a client that asks and never reads could make the relay hold any number
 * of them. The answers on their way to one user therefore hold at most `perUserBytes`, and
 * all of them together at most `maxBytes`; the inbox route refuses past either (429
 * RATE_LIMITED, 503 UNAVAILABLE). An answer's bytes come back when its response closes:
 * sent, or its connection gone (the server drops connections idle for two minutes).
 */
export interface AnswerLimits {
  perUserBytes: number;
  maxBytes: number;
}

export const ANSWER_LIMITS: AnswerLimits = {
  perUserBytes: 32 * 1024 * 1024,
  maxBytes: 256 * 1024 * 1024,
};

/**
 * Room for one answer: `hold` its size once it is built; `release` gives it back, once.
 * After `release` (the connection went while the answer was being built), `hold` counts
 * nothing: that answer is never sent.
 */
export interface AnswerSlot {
  /** "ok", or the limit that has no room for `bytes` more. */
  hold(bytes: number): "ok" | "user" | "relay";
  release(): void;
}

export class AnswersInFlight {
  #bytes = 0;
  readonly #byUser = new Map<string, number>();

  constructor(private readonly limits: AnswerLimits = ANSWER_LIMITS) {}

  /** A slot for one more answer to `user`, or undefined while theirs fill `perUserBytes`. */
  enter(user: string): AnswerSlot | undefined {
    if ((this.#byUser.get(user) ?? 0) >= this.limits.perUserBytes) return undefined;
    let held = 0;
    let released = false;
    return {
      hold: (bytes) => {
        if (released) return "ok";
        const mine = this.#byUser.get(user) ?? 0;
        if (mine + bytes > this.limits.perUserBytes) return "user";
        if (this.#bytes + bytes > this.limits.maxBytes) return "relay";
        this.#byUser.set(user, mine + bytes);
        this.#bytes += bytes;
        held += bytes;
        return "ok";
      },
      release: () => {
        if (released) return;
        released = true;
        if (held === 0) return;
        this.#bytes -= held;
        const left = (this.#byUser.get(user) ?? held) - held;
        if (left > 0) this.#byUser.set(user, left);
        else this.#byUser.delete(user);
      },
    };
  }

  /** Bytes of answers on their way (tests). */
  get bytes(): number {
    return this.#bytes;
  }
}
