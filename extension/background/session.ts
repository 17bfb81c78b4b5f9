/**
 * The unlock state (DESIGN §5). The unlocked `Client` lives in the worker's memory, and its
 * DEK in `storage.session` (memory only, trusted contexts only), so a restarted worker
 * resumes without the password. Locking wipes both. Auto-lock is the "auto-lock" alarm,
 * pushed back by every request; an alarm survives the worker being stopped.
 */
import { base64, wipe } from "../../protocol/bytes.js";
import { Client, type ClientOptions } from "../../protocol/client.js";
import { fail, ProtocolError } from "../../protocol/errors.js";
import { Keystore } from "../../protocol/keystore.js";
import type { StorageAdapter } from "../../protocol/storage.js";
import type { Settings, State, UnlockedState } from "../shared/messages.js";
import type { BrowserApi } from "./browser.js";
import { ReadMarks } from "./read-marks.js";
import { loadSettings, saveSettings } from "./settings.js";

export const AUTO_LOCK_ALARM = "auto-lock";
const DEK_KEY = "dek";

export function unlockedState(c: Client): UnlockedState {
  return {
    status: "unlocked",
    name: c.name,
    address: c.address,
    relay: c.relay,
    fingerprint: c.fingerprint,
  };
}

export class Session {
  #client: Client | null = null;
  #marks: ReadMarks | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  private readonly storage: Promise<StorageAdapter>;

  /** `opts` go to the Client: tests inject a cheap KDF, a clock and a fetch here. */
  constructor(
    storage: StorageAdapter | Promise<StorageAdapter>,
    readonly browser: BrowserApi,
    private readonly opts: ClientOptions = {},
  ) {
    this.storage = Promise.resolve(storage);
  }

  /** Unlock, lock and resume run one at a time, so a lock is never undone by a late resume. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(f, f);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** At worker start: content scripts must not read the DEK (Firefox never lets them). */
  async start(): Promise<void> {
    await this.browser.storage.session.setAccessLevel?.({ accessLevel: "TRUSTED_CONTEXTS" });
  }

  /** The unlocked Client, resumed from `storage.session` after a restart; null if locked. */
  async client(): Promise<Client | null> {
    return this.#client ?? this.serial(() => this.resume());
  }

  async require(): Promise<Client> {
    return (await this.client()) ?? fail("LOCKED", "the extension is locked");
  }

  /** The read marks of the unlocked account (after `require`). */
  marks(): ReadMarks {
    return this.#marks ?? fail("LOCKED", "the extension is locked");
  }

  async state(): Promise<State> {
    const c = await this.client();
    if (c) return unlockedState(c);
    return (await Keystore.exists(await this.storage)) ? { status: "locked" } : { status: "none" };
  }

  create(p: { name: string; relay: string; password: string }): Promise<Client> {
    return this.serial(async () => {
      const c = await Client.create(await this.storage, p, this.opts);
      await this.install(c, true);
      return c;
    });
  }

  unlock(password: string): Promise<Client> {
    return this.serial(async () => {
      const c = this.#client ?? (await this.resume());
      if (c) return c;
      const opened = await Client.open(await this.storage, password, this.opts);
      await this.install(opened, true);
      return opened;
    });
  }

  async changePassword(oldPassword: string, newPassword: string): Promise<void> {
    await (await this.require()).changePassword(oldPassword, newPassword, this.opts.kdf);
  }

  /** Wipes the keys from memory and from `storage.session`. */
  lock(): Promise<void> {
    return this.serial(() => this.forget());
  }

  /** Locks and deletes the account's records (an account the relay refused on creation). */
  discardAccount(): Promise<void> {
    return this.serial(async () => {
      await this.forget();
      const storage = await this.storage;
      await storage.write((await storage.list("")).map((key) => ({ key, value: null })));
    });
  }

  /** User activity: pushes the auto-lock back by the configured minutes. */
  async touch(): Promise<void> {
    if (await this.client()) await this.resetAutoLock();
  }

  settings(): Promise<Settings> {
    return loadSettings(this.browser.storage.local);
  }

  async setSettings(patch: Partial<Settings>): Promise<Settings> {
    const s = await saveSettings(this.browser.storage.local, patch);
    if (patch.autoLockMinutes !== undefined) await this.touch();
    return s;
  }

  private async resetAutoLock(): Promise<void> {
    const { autoLockMinutes } = await this.settings();
    await this.browser.alarms.create(AUTO_LOCK_ALARM, { delayInMinutes: autoLockMinutes });
  }

  private async resume(): Promise<Client | null> {
    if (this.#client) return this.#client;
    const stored = (await this.browser.storage.session.get(DEK_KEY))[DEK_KEY];
    if (typeof stored !== "string") return null;
    let dek: Uint8Array | undefined;
    try {
      dek = base64.decode(stored);
      const c = await Client.resume(await this.storage, dek, this.opts);
      await this.install(c, false);
      return c;
    } catch (e) {
      // A DEK that does not open this store (the account was replaced): forget it.
      if (!ProtocolError.is(e)) throw e;
      await this.forget();
      return null;
    } finally {
      wipe(dek);
    }
  }

  /** Keeps an unlocked Client; a fresh unlock also stores the DEK and starts the auto-lock. */
  private async install(c: Client, fresh: boolean): Promise<void> {
    const dek = c.exportDek();
    try {
      const marks = await ReadMarks.open(await this.storage, dek);
      if (fresh) await this.browser.storage.session.set({ [DEK_KEY]: base64.encode(dek) });
      this.#client = c;
      this.#marks = marks;
    } catch (e) {
      c.lock();
      throw e;
    } finally {
      wipe(dek);
    }
    if (fresh) await this.resetAutoLock();
  }

  private async forget(): Promise<void> {
    this.#client?.lock();
    this.#marks?.lock();
    this.#client = null;
    this.#marks = null;
    await this.browser.storage.session.remove(DEK_KEY);
    await this.browser.alarms.clear(AUTO_LOCK_ALARM);
  }
}
