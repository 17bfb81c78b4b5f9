/**
 * The unlock state (DESIGN §5). The unlocked `Client` lives in the worker's memory, and its
 * DEK in `storage.session` (memory only, trusted contexts only), so a restarted worker
 * resumes without the password. Locking wipes both. Auto-lock is the "auto-lock" alarm,
 * pushed back by every request; an alarm survives the worker being stopped.
 */
import { openBackup, type Restored, restoreBackup } from "../../protocol/backup.js";
import { base64, wipe } from "../../protocol/bytes.js";
import { Client, type ClientOptions } from "../../protocol/client.js";
import { fail, ProtocolError } from "../../protocol/errors.js";
import { Keystore } from "../../protocol/keystore.js";
import type { StorageAdapter } from "../../protocol/storage.js";
import { DEK_KEY } from "../shared/lock-signal.js";
import type { Settings, State, UnlockedState } from "../shared/messages.js";
import { replacing } from "./backup.js";
import type { BrowserApi } from "./browser.js";
import { KeyChanges } from "./key-changes.js";
import { ReadMarks } from "./read-marks.js";
import { loadSettings, saveSettings } from "./settings.js";

export const AUTO_LOCK_ALARM = "auto-lock";

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
  #changes: KeyChanges | null = null;
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

  /** Contacts whose changed key waits for review (after `require`), key-changes.ts. */
  keyChanges(): KeyChanges {
    return this.#changes ?? fail("LOCKED", "the extension is locked");
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

  /** What the Client gets (Argon2id cost, fetch): for backups and relay checks too. */
  get options(): ClientOptions {
    return this.opts;
  }

  /** WRONG_PASSWORD unless `password` opens this account: asked again before a backup. */
  async checkPassword(password: string): Promise<void> {
    (await Keystore.unlock(await this.storage, password)).lock();
  }

  /**
   * Restores an account from a backup (protocol §14) and unlocks it, protected by the
   * backup's password. With `replace`, the current account's records are deleted in the
   * same atomic write (backup.ts); otherwise the storage must hold no account.
   */
  restore(
    input: Uint8Array | string,
    password: string,
    replace: boolean,
  ): Promise<{ client: Client; restored: Omit<Restored, "dek"> }> {
    return this.serial(async () => {
      const storage = await this.storage;
      if (replace) {
        // Check the file first, then lock: the old account must write nothing more (its
        // records would outlive it, under a DEK that no longer opens anything).
        await openBackup(input, password);
        await this.forget();
      }
      const target = replace ? await replacing(storage) : storage;
      const { dek, ...restored } = await restoreBackup(target, input, password, {
        ...(this.opts.kdf ? { kdf: this.opts.kdf } : {}),
      });
      try {
        await this.forget();
        const client = await Client.resume(storage, dek, this.opts);
        await this.install(client, true);
        return { client, restored };
      } finally {
        wipe(dek);
      }
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
      const changes = await KeyChanges.open(await this.storage, dek);
      if (fresh) await this.browser.storage.session.set({ [DEK_KEY]: base64.encode(dek) });
      this.#client = c;
      this.#marks = marks;
      this.#changes = changes;
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
    this.#changes?.lock();
    this.#client = null;
    this.#marks = null;
    this.#changes = null;
    await this.browser.storage.session.remove(DEK_KEY);
    await this.browser.alarms.clear(AUTO_LOCK_ALARM);
  }
}
