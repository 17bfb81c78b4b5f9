/**
 * Answers one message: checks its shape and its sender, runs the handler, pushes the
 * auto-lock back for a user's action, and turns the outcome into a `Reply`. Errors leave
 * as `{ name, code, message }` (`toWire`), never as a stack.
 */
import { toWire } from "../shared/errors.js";
import type { Reply, Request } from "../shared/messages.js";
import { type Context, handlers } from "./handlers.js";
import { parseRequest } from "./schema.js";
import { checkTrust, inPage, type Sender } from "./trust.js";

type AnyHandler = (req: Request, ctx: Context) => Promise<unknown>;

/**
 * What a frame inside a page asks only when the user acts in it (a click or typing in
 * the frame, which the page cannot do). Everything else a frame asks, it asks on loading,
 * and a page can reload our frames at will: that must not keep the keys unlocked.
 */
const FRAME_ACTIONS: ReadonlySet<Request["type"]> = new Set<Request["type"]>([
  "composeInsert",
  "cancelInsertion",
  "encryptSelection",
  "unlock",
]);

export async function dispatch(ctx: Context, message: unknown, sender: Sender): Promise<Reply> {
  try {
    const req = parseRequest(message);
    checkTrust(req.type, sender, ctx.session.browser.runtime);
    const value = await (handlers[req.type] as AnyHandler)(req, ctx);
    // Activity pushes the auto-lock back; a request that failed is none.
    if (!inPage(sender) || FRAME_ACTIONS.has(req.type)) await ctx.session.touch();
    return { ok: true, value };
  } catch (e) {
    const error = toWire(e);
    if (error.code === "INTERNAL")
      console.error("background: internal error", e instanceof Error ? e.name : typeof e);
    return { ok: false, error };
  }
}
