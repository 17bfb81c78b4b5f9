/**
 * A failure the user can act on that is neither a usage error nor a protocol error, such
 * as a relay that cannot start. The CLI prints its message and exits 1.
 */
export class Failure extends Error {
  override readonly name = "Failure";
}
