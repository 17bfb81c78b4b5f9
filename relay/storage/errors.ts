/**
 * The storage layer's one error: the backend cannot serve right now (disk full, I/O
 * error, lock timeout, read-only or vanished database, lost connection). The relay turns
 * it into a 503 (DESIGN §4, docs/protocol.md §13.5) so that clients keep the message in
 * their outbox and retry. Bugs (bad arguments, a missing log node) are not this error.
 */
export class StoreUnavailable extends Error {
  override readonly name = "StoreUnavailable";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  static is(e: unknown): e is StoreUnavailable {
    return e instanceof StoreUnavailable;
  }
}
