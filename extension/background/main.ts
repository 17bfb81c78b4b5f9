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
import { Insertions } from "./insertions.js";
import { createMenus, onCommand, onMenuClick } from "./menus.js";
import { isRequest } from "./schema.js";
import { Session } from "./session.js";
import { Sites } from "./sites.js";

const browser: BrowserApi = globalThis.chrome;

// The relay client calls `fetch` as a method of itself, and a browser's fetch throws
// "Illegal invocation" unless called on the global: pass one bound to the global.
const session = new Session(IdbStorage.open(), browser, {
  fetch: (input, init) => globalThis.fetch(input, init),
});
// Removing a watched site keeps the host permission of a relay the extension talks to.
const relays = async () => [
  (await session.settings()).relay,
  ...((await session.client())?.relay ?? []),
];
const insertions = new Insertions(chrome, session);
const sites = new Sites(chrome, relays);
const ctx: Context = { session, inbox: new Inbox(session, browser), insertions, sites };

void session.start();

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (!isRequest(message)) return false; // not ours: let another listener answer
  void dispatch(ctx, message, sender).then(sendResponse);
  return true; // the answer comes asynchronously
});

chrome.alarms.onAlarm.addListener((alarm) => {
  void onAlarm(ctx, alarm.name);
});

// Page actions: a menu click or a command grants activeTab for the tab (menus.ts).
chrome.contextMenus.onClicked.addListener((info, tab) => {
  void onMenuClick(insertions, info, tab);
});
chrome.commands.onCommand.addListener((command, tab) => {
  void onCommand(insertions, command, tab);
});
// The watched sites follow the granted host permissions, wherever they are changed.
chrome.permissions.onAdded.addListener(() => void sites.sync());
chrome.permissions.onRemoved.addListener(() => void sites.sync());

chrome.runtime.onInstalled.addListener(() => {
  void setUpAlarms(browser);
  void createMenus(chrome.contextMenus);
  void sites.sync();
});
chrome.runtime.onStartup.addListener(() => {
  void setUpAlarms(browser);
  void sites.sync();
});
