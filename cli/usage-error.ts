/**
 * A mistake in how the CLI was called: a missing argument, password or input. The CLI
 * prints its message without a stack trace, unlike a ProtocolError or a bug.
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
