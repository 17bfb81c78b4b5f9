/**
 * The few browser APIs the worker uses, as one narrow interface. `main.ts` passes
 * `globalThis.chrome` (MV3 Chrome and Firefox both provide `chrome.*`); unit tests pass a
 * small fake, and everything else under test is the real code.
 */

export interface StorageArea {
  get(keys: string | string[]): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
  remove(keys: string | string[]): Promise<void>;
}

export interface BrowserApi {
  storage: {
    local: StorageArea;
    /** Memory only. Chrome restricts it to trusted contexts on request; Firefox always does. */
    session: StorageArea & {
      setAccessLevel?(options: { accessLevel: "TRUSTED_CONTEXTS" }): Promise<void>;
    };
  };
  alarms: {
    create(
      name: string,
      info: { delayInMinutes?: number; periodInMinutes?: number },
    ): Promise<void>;
    clear(name: string): Promise<boolean>;
  };
  runtime: {
    id: string;
    getURL(path: string): string;
    getManifest(): { icons?: { [size: number]: string } };
  };
  action: { setBadgeText(details: { text: string }): Promise<void> };
  notifications?: {
    create(options: {
      type: "basic";
      iconUrl: string;
      title: string;
      message: string;
    }): Promise<string>;
  };
}
