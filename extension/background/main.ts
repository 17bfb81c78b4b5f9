/// <reference types="chrome" />
/**
 * The background service worker (Chrome) or event page (Firefox): wiring only. Listeners
 * are added synchronously at the top level, as MV3 requires for a worker woken by an
 * event; the storage opens lazily behind a promise (no top-level await in workers).
 */
import "./no-eval.js";
import { onAlarm, setUpAlarms } from "./alarms.js";
import type { BrowserApi } from "./browser.js";
import { dispatch } from "./dispatch.js";
import type { Context } from "./handlers.js";
import { IdbStorage } from "./idb-storage.js";
import { Inbox } from "./inbox.js";
import { isRequest } from "./schema.js";
import { Session } from "./session.js";

const browser: BrowserApi = globalThis.chrome;

// The relay client calls `fetch` as a method of itself, and a browser's fetch throws
// "Illegal invocation" unless called on the global: pass one bound to the global.
const session = new Session(IdbStorage.open(), browser, {
  fetch: (input, init) => globalThis.fetch(input, init),
});
const ctx: Context = { session, inbox: new Inbox(session, browser) };

void session.start();

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (!isRequest(message)) return false; // not ours: let another listener answer
  void dispatch(ctx, message, sender).then(sendResponse);
  return true; // the answer comes asynchronously
});

chrome.alarms.onAlarm.addListener((alarm) => {
  void onAlarm(ctx, alarm.name);
});

chrome.runtime.onInstalled.addListener(() => {
  void setUpAlarms(browser);
});
chrome.runtime.onStartup.addListener(() => {
  void setUpAlarms(browser);
});
