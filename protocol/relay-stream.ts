/**
 * Reading what a relay sends, with bounds (docs/protocol.md §13.4): a relay may be a
 * stranger's (named in a contact's bundle), so no answer and no event may make a client
 * buffer without limit.
 */
import { fail, ProtocolError } from "./errors.js";

/** The longest event-stream block kept while waiting for its end. */
const MAX_EVENT_BYTES = 64 * 1024;

/** Reads a whole answer as text; RELAY_UNAVAILABLE past `max` bytes or when cut off. */
export async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      n += value.length;
      if (n > max) {
        await reader.cancel();
        fail("RELAY_UNAVAILABLE", "the relay's answer is too large");
      }
      chunks.push(value);
    }
  } catch (e) {
    if (ProtocolError.is(e)) throw e;
    fail("RELAY_UNAVAILABLE", "the relay's answer was cut off", e);
  }
  const all = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  return new TextDecoder().decode(all);
}

/**
 * Follows a Server-Sent Events stream, calling `onEvent` for `ready` and `message`
 * events, until the stream ends or `signal` aborts.
 */
export async function readEvents(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  onEvent: (e: "ready" | "message") => void,
): Promise<void> {
  const reader = body.getReader();
  const text = new TextDecoder();
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += text.decode(value, { stream: true });
      if (buf.length > MAX_EVENT_BYTES)
        fail("RELAY_UNAVAILABLE", "the event stream sent an oversized event");
      let end = buf.indexOf("\n\n");
      while (end >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const event = /^event: ?(.*)$/m.exec(block)?.[1];
        if (event === "ready" || event === "message") onEvent(event);
        end = buf.indexOf("\n\n");
      }
    }
  } catch (e) {
    if (signal.aborted) return;
    if (ProtocolError.is(e)) throw e;
    fail("RELAY_UNAVAILABLE", "the event stream broke", e);
  } finally {
    reader.releaseLock();
  }
}
