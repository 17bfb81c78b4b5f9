/**
 * A small in-memory stand-in for the browser APIs the worker uses (BrowserApi). Only the
 * browser is faked: the storage (IdbStorage over fake-indexeddb), the session, the handlers
 * and the protocol under test are the real ones.
 */
import type { BrowserApi, StorageArea } from "../../../extension/background/browser.js";

export const EXTENSION_ID = "abcdefghijklmnopabcdefghijklmnop";
export const ORIGIN = `chrome-extension://${EXTENSION_ID}/`;

/** Senders as runtime.onMessage reports them. */
export const popup = { id: EXTENSION_ID, url: `${ORIGIN}extension/popup/index.html` };
export const frame = {
  id: EXTENSION_ID,
  url: `${ORIGIN}extension/frames/decrypt.html`,
  tab: { id: 7 },
};
export const contentScript = {
  id: EXTENSION_ID,
  url: "https://mail.example/inbox",
  tab: { id: 7 },
};

type AlarmInfo = { delayInMinutes?: number; periodInMinutes?: number };

export class FakeArea implements StorageArea {
  readonly data = new Map<string, unknown>();
  async get(keys: string | string[]) {
    const out: Record<string, unknown> = {};
    for (const k of typeof keys === "string" ? [keys] : keys)
      if (this.data.has(k)) out[k] = structuredClone(this.data.get(k));
    return out;
  }
  async set(items: Record<string, unknown>) {
    for (const [k, v] of Object.entries(items)) this.data.set(k, structuredClone(v));
  }
  async remove(keys: string | string[]) {
    for (const k of typeof keys === "string" ? [keys] : keys) this.data.delete(k);
  }
}

export class FakeBrowser implements BrowserApi {
  accessLevel: string | undefined;
  badgeText = "";
  readonly alarmsSet = new Map<string, AlarmInfo>();
  readonly notes: { title: string; message: string }[] = [];
  readonly storage: { local: FakeArea; session: FakeArea & BrowserApi["storage"]["session"] };

  constructor(local = new FakeArea(), session = new FakeArea()) {
    const setAccessLevel = async (o: { accessLevel: string }) => {
      this.accessLevel = o.accessLevel;
    };
    this.storage = { local, session: Object.assign(session, { setAccessLevel }) };
  }

  readonly alarms = {
    create: async (name: string, info: AlarmInfo) => {
      this.alarmsSet.set(name, info);
    },
    clear: async (name: string) => this.alarmsSet.delete(name),
  };
  readonly runtime = {
    id: EXTENSION_ID,
    getURL: (path: string) => `${ORIGIN}${path.replace(/^\//, "")}`,
    getManifest: () => ({ icons: { 48: "icons/48.png", 128: "icons/128.png" } }),
  };
  readonly action = {
    setBadgeText: async (d: { text: string }) => {
      this.badgeText = d.text;
    },
  };
  readonly notifications = {
    create: async (o: { title: string; message: string }) => {
      this.notes.push({ title: o.title, message: o.message });
      return String(this.notes.length);
    },
  };

  /** The browser restarts: session storage is memory only, local storage stays. */
  restart(): FakeBrowser {
    return new FakeBrowser(this.storage.local, new FakeArea());
  }
}
