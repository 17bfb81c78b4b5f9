/**
 * The worker's alarms: "auto-lock" (set by the session, pushed back by each request) and
 * "poll" (every minute: fetch, retry the outbox, update the badge). Alarms wake a stopped
 * worker, so both work after the browser has unloaded it.
 */
import type { BrowserApi } from "./browser.js";
import { type Context, handlers } from "./handlers.js";
import { AUTO_LOCK_ALARM } from "./session.js";

export const POLL_ALARM = "poll";
const POLL_MINUTES = 1;

export const alarms = {
  [AUTO_LOCK_ALARM]: async (ctx) => {
    await handlers.lock({ type: "lock" }, ctx);
  },
  [POLL_ALARM]: (ctx) => ctx.inbox.poll(),
} satisfies Record<string, (ctx: Context) => Promise<void>>;

/** Runs an alarm's work; nobody awaits it, so a failure is logged by name only. */
export async function onAlarm(ctx: Context, name: string): Promise<void> {
  if (!Object.hasOwn(alarms, name)) return;
  try {
    await alarms[name as keyof typeof alarms](ctx);
  } catch (e) {
    console.error(`alarm ${name}:`, e instanceof Error ? e.name : typeof e);
  }
}

/** On install and on browser start; creating an alarm again replaces it. */
export async function setUpAlarms(browser: BrowserApi): Promise<void> {
  await browser.alarms.create(POLL_ALARM, { periodInMinutes: POLL_MINUTES });
}
