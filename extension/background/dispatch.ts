/**
 * Answers one message: checks its shape and its sender, pushes the auto-lock back, runs
 * the handler, and turns the outcome into a `Reply`. Errors leave as `{ name, code,
 * message }` (`toWire`), never as a stack.
 */
import { toWire } from "../shared/errors.js";
import type { Reply, Request } from "../shared/messages.js";
import { type Context, handlers } from "./handlers.js";
import { parseRequest } from "./schema.js";
import { checkTrust, type Sender } from "./trust.js";

type AnyHandler = (req: Request, ctx: Context) => Promise<unknown>;

export async function dispatch(ctx: Context, message: unknown, sender: Sender): Promise<Reply> {
  try {
    const req = parseRequest(message);
    checkTrust(req.type, sender, ctx.session.browser.runtime);
    await ctx.session.touch();
    const value = await (handlers[req.type] as AnyHandler)(req, ctx);
    return { ok: true, value };
  } catch (e) {
    const error = toWire(e);
    if (error.code === "INTERNAL")
      console.error("background: internal error", e instanceof Error ? e.name : typeof e);
    return { ok: false, error };
  }
}
