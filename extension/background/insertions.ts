/**
 * Encrypting into a page's field (issue 4, "On web pages"), driven by the worker:
 * "Encrypt selection for…" and "Secure compose…" (context menu or command) start an
 * insertion; an extension page finishes it:
 *
 * - selection: the worker marks the focused field and its selection in the tab
 *   (`markTarget`), and opens the chooser window (an extension page) where the user picks
 *   the contact, unlocking first if needed. Only then does the worker take the selected
 *   text from the page, encrypt it, and replace exactly that selection with the armor.
 * - compose: the worker marks the field and opens the compose frame (an extension-origin
 *   iframe) below it. The user types there, so the page never sees the text; the worker
 *   encrypts it and inserts only the armor.
 *
 * The content script plays no part: it receives nothing and is asked nothing. Pages are
 * reached only through `scripting.executeScript` into the tab the user acted in, which
 * `activeTab` allows after a menu click or a command. An insertion is named by a random
 * id that only the worker and the extension page it opened know. Insertions are kept in
 * `storage.session` (memory only, trusted contexts only), without any text, so a worker
 * stopped while the user picks a contact still finishes the job.
 */
import { armor } from "../../protocol/armor.js";
import { base64url } from "../../protocol/bytes.js";
import type { Client } from "../../protocol/client.js";
import { fail } from "../../protocol/errors.js";
import { ExtensionError } from "../shared/errors.js";
import type { InsertionInfo } from "../shared/messages.js";
import type { StorageArea } from "./browser.js";
import { checkReviewed } from "./key-changes.js";
import {
  closeComposeFrame,
  type InsertResult,
  insertArmor,
  type MarkResult,
  markTarget,
  openComposeFrame,
  type TakeResult,
  takeSelection,
} from "./page-scripts.js";
import type { Session } from "./session.js";

export const CHOOSER = "extension/frames/chooser.html";
export const COMPOSE = "extension/frames/compose.html";
export const POPUP = "extension/popup/index.html";
/** An insertion the user leaves unfinished is forgotten after this long. */
export const INSERTION_TTL_MS = 10 * 60_000;
const KEY = "insertions";

/** Why an insertion could not start; the chooser window shows it (never a silent failure). */
export type StartProblem = "NO_ACCESS" | "NO_FIELD" | "NO_SELECTION";

export interface Insertion extends InsertionInfo {
  id: string;
  tabId: number;
  frameId: number;
  /** The chooser window, closed when the insertion ends. */
  windowId?: number;
  expires: number;
}

/** The browser APIs insertions use; `main.ts` passes `chrome`, tests a fake. */
export interface PageApi {
  scripting: {
    executeScript<A extends unknown[], R>(injection: {
      target: { tabId: number; frameIds: number[] } | { tabId: number; allFrames: true };
      func: (...args: A) => R;
      args: A;
    }): Promise<Array<{ frameId: number; result?: R }>>;
  };
  windows: {
    create(options: {
      url: string;
      type: "popup";
      width: number;
      height: number;
    }): Promise<{ id?: number } | undefined>;
    remove(windowId: number): Promise<void>;
  };
  runtime: { getURL(path: string): string };
  storage: { session: StorageArea };
}

function newId(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(16)));
}

export class Insertions {
  constructor(
    private readonly browser: PageApi,
    private readonly session: Session,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Starts an insertion in the tab the user acted in: in `frameId` (a menu click says
   * which frame), or in whichever frame has focus (a command does not say).
   */
  async start(mode: InsertionInfo["mode"], tabId: number, frameId?: number): Promise<void> {
    const id = newId();
    const mark = (
      target: { tabId: number; frameIds: number[] } | { tabId: number; allFrames: true },
    ) => this.browser.scripting.executeScript({ target, func: markTarget, args: [id] });
    let results: Array<{ frameId: number; result?: MarkResult }>;
    try {
      // A command does not say which frame: ask them all, and fall back to the top one
      // where a browser refuses the lot because of one frame it may not script.
      results = await (frameId === undefined
        ? mark({ tabId, allFrames: true }).catch(() => mark({ tabId, frameIds: [0] }))
        : mark({ tabId, frameIds: [frameId] }));
    } catch {
      // A page the extension may not script (the browser's own pages, the web store).
      return this.showProblem("NO_ACCESS");
    }
    const marked = results.filter(
      (r): r is { frameId: number; result: MarkResult & { ok: true } } => r.result?.ok === true,
    );
    // Without a frame from a click, only the frame that has focus: a field merely left
    // active in another frame (an embedded ad, say) is not what the user meant.
    const target = frameId === undefined ? marked.find((r) => r.result.focused) : marked[0];
    if (!target) return this.showProblem("NO_FIELD");
    if (mode === "selection" && target.result.empty) return this.showProblem("NO_SELECTION");
    const ins: Insertion = {
      id,
      mode,
      tabId,
      frameId: target.frameId,
      singleLine: target.result.singleLine,
      site: target.result.site,
      expires: this.now() + INSERTION_TTL_MS,
    };
    await this.save(ins);
    if (mode === "compose") {
      const url = `${this.browser.runtime.getURL(COMPOSE)}#${id}`;
      const shown = await this.inject(ins, openComposeFrame, [url, "SECURE-MSG secure compose"]);
      if (!shown) {
        await this.end(ins);
        await this.showProblem("NO_FIELD");
      }
      return;
    }
    const w = await this.openWindow(`${CHOOSER}#${id}`);
    if (w?.id !== undefined) await this.save({ ...ins, windowId: w.id });
  }

  /**
   * What the chooser or the compose frame shows about an insertion. For a selection, the
   * text too (read again from the page, unchanged since it was marked): the page decides
   * what its field holds and how it looks, so the chooser, which the page cannot touch,
   * shows exactly what will be encrypted and signed in the user's name.
   */
  async info(id: string): Promise<InsertionInfo> {
    const ins = await this.get(id);
    const { mode, singleLine, site } = ins;
    if (mode !== "selection") return { mode, singleLine, site };
    const taken = await this.inject<[string], TakeResult>(ins, takeSelection, [id]);
    if (!taken.ok) return this.changed(ins);
    return { mode, singleLine, site, text: taken.text };
  }

  /** Takes the marked selection from the page, encrypts it for `to`, and replaces it. */
  async encryptSelection(id: string, to: string): Promise<null> {
    const ins = await this.get(id, "selection");
    const client = await this.sender(to);
    const taken = await this.inject<[string], TakeResult>(ins, takeSelection, [id]);
    if (!taken.ok) return this.changed(ins);
    const { envelope } = await client.encrypt(to, taken.text);
    return this.insert(ins, armor("MESSAGE", envelope, { compact: ins.singleLine }));
  }

  /** Encrypts text typed in the compose frame for `to`, and inserts only the armor. */
  async composeInsert(id: string, to: string, text: string): Promise<null> {
    const ins = await this.get(id, "compose");
    if (text.length === 0) fail("INVALID_ARGUMENT", "the message is empty");
    const client = await this.sender(to);
    const { envelope } = await client.encrypt(to, text);
    return this.insert(ins, armor("MESSAGE", envelope, { compact: ins.singleLine }));
  }

  /** The user gave up: closes the compose frame or the chooser, and forgets the insertion. */
  async cancel(id: string): Promise<null> {
    const ins = await this.get(id);
    if (ins.mode === "compose") await this.inject(ins, closeComposeFrame, []).catch(() => null);
    await this.end(ins);
    return null;
  }

  /** Opens the popup in a window, for a compose frame that found the account locked. */
  async openUnlock(): Promise<null> {
    await this.openWindow(POPUP);
    return null;
  }

  /** The unlocked client, if `to` may be sent to: a changed key waits for review. */
  private async sender(to: string): Promise<Client> {
    const client = await this.session.require();
    await checkReviewed(this.session, client, to);
    return client;
  }

  private async insert(ins: Insertion, armorText: string): Promise<null> {
    const put = await this.inject<[string, string], InsertResult>(ins, insertArmor, [
      ins.id,
      armorText,
    ]);
    if (!put.ok) return this.changed(ins);
    await this.end(ins);
    return null;
  }

  private async changed(ins: Insertion): Promise<never> {
    await this.end(ins);
    throw new ExtensionError("PAGE_CHANGED", "the field changed or the page was left");
  }

  /** Runs one page script in the insertion's frame; a frame that is gone is PAGE_CHANGED. */
  private async inject<A extends unknown[], R>(
    ins: Insertion,
    func: (...args: A) => R,
    args: A,
  ): Promise<R> {
    let results: Array<{ frameId: number; result?: R }>;
    try {
      results = await this.browser.scripting.executeScript({
        target: { tabId: ins.tabId, frameIds: [ins.frameId] },
        func,
        args,
      });
    } catch (e) {
      throw new ExtensionError("PAGE_CHANGED", "the page was left or closed", { cause: e });
    }
    const r = results[0];
    if (r?.result === undefined) throw new ExtensionError("PAGE_CHANGED", "the page was left");
    return r.result;
  }

  private openWindow(path: string) {
    const url = this.browser.runtime.getURL(path);
    return this.browser.windows.create({ url, type: "popup", width: 400, height: 560 });
  }

  private async showProblem(problem: StartProblem): Promise<void> {
    await this.openWindow(`${CHOOSER}#problem=${problem}`);
  }

  // --- the pending insertions, in storage.session ---------------------------------------

  private async all(): Promise<Record<string, Insertion>> {
    const stored = (await this.browser.storage.session.get(KEY))[KEY];
    const list = (typeof stored === "object" && stored !== null ? stored : {}) as Record<
      string,
      Insertion
    >;
    const now = this.now();
    return Object.fromEntries(Object.entries(list).filter(([, v]) => v.expires > now));
  }

  private async get(id: string, mode?: InsertionInfo["mode"]): Promise<Insertion> {
    const all = await this.all();
    // Own keys only: "__proto__" or "constructor" name no insertion.
    const ins = Object.hasOwn(all, id) ? all[id] : undefined;
    if (!ins || (mode !== undefined && ins.mode !== mode))
      throw new ExtensionError("UNKNOWN_INSERTION", "this request has ended or expired");
    return ins;
  }

  private async save(ins: Insertion): Promise<void> {
    await this.browser.storage.session.set({ [KEY]: { ...(await this.all()), [ins.id]: ins } });
  }

  private async end(ins: Insertion): Promise<void> {
    const rest = await this.all();
    delete rest[ins.id];
    await this.browser.storage.session.set({ [KEY]: rest });
    if (ins.windowId !== undefined) await this.browser.windows.remove(ins.windowId).catch(() => {});
  }
}
