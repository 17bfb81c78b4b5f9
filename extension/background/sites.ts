/**
 * Site access (issue 4, "Build"): armored blocks are found on the local host (the
 * manifest's content script) and on the sites the user adds in the popup's settings. For
 * each added site the popup asks the browser for the host permission (a permission prompt
 * needs the user's click, so only the popup can ask); the worker keeps the list of sites
 * in `storage.local` and registers the content script for those whose permission is
 * granted, as one dynamic content script. `sync()` runs at start-up and whenever a
 * permission is granted or revoked (also from the browser's own settings), so the
 * registration always follows what is granted. Removing a site unregisters it and gives
 * the host permission back, unless a relay the extension talks to needs it.
 *
 * The list is kept separately from the granted permissions because the same optional
 * host permissions serve relays too: a relay's origin is not a watched site.
 */
import { fail } from "../../protocol/errors.js";
import type { Site } from "../shared/messages.js";
import { sitePatternMatches, toSitePattern } from "../shared/sites.js";
import type { StorageArea } from "./browser.js";

export const SITES_SCRIPT_ID = "watched-sites";
const KEY = "sites";

interface ContentScript {
  id: string;
  matches: string[];
  js: string[];
  runAt: "document_idle";
  persistAcrossSessions: boolean;
}

export interface SitesApi {
  permissions: {
    contains(p: { origins: string[] }): Promise<boolean>;
    remove(p: { origins: string[] }): Promise<boolean>;
  };
  scripting: {
    getRegisteredContentScripts(filter: { ids: string[] }): Promise<{ id: string }[]>;
    registerContentScripts(scripts: ContentScript[]): Promise<void>;
    updateContentScripts(scripts: ContentScript[]): Promise<void>;
    unregisterContentScripts(filter: { ids: string[] }): Promise<void>;
  };
  runtime: { getManifest(): { content_scripts?: { js?: string[] }[] } };
  storage: { local: StorageArea };
}

export class Sites {
  #queue: Promise<unknown> = Promise.resolve();

  /** `relays()` names the relay URLs whose host permission must stay. */
  constructor(
    private readonly browser: SitesApi,
    private readonly relays: () => Promise<string[]>,
  ) {}

  /** One change at a time, so two syncs never register the script twice. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(f, f);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** The sites and whether each is granted, after bringing the registration up to date. */
  list(): Promise<Site[]> {
    return this.serial(() => this.update());
  }

  /** Adds a site (its permission is asked for by the popup, before or after this). */
  async add(site: string): Promise<Site[]> {
    const pattern = toSitePattern(site) ?? (isAllSites(site) ? site : null);
    if (pattern === null) fail("INVALID_ARGUMENT", "not a site: give a host or an https URL");
    return this.serial(async () => {
      const sites = await this.stored();
      if (!sites.includes(pattern)) await this.store([...sites, pattern]);
      return this.update();
    });
  }

  /** Removes a site, unregisters it, and gives back its host permission. */
  remove(pattern: string): Promise<Site[]> {
    return this.serial(async () => {
      await this.store((await this.stored()).filter((p) => p !== pattern));
      const sites = await this.update();
      const relays = await this.relays();
      if (!relays.some((r) => sitePatternMatches(pattern, r)))
        await this.browser.permissions.remove({ origins: [pattern] }).catch(() => false);
      return sites;
    });
  }

  /** Registers the content script for the granted sites, or unregisters it when none. */
  sync(): Promise<void> {
    return this.serial(async () => {
      await this.update();
    });
  }

  private async update(): Promise<Site[]> {
    const sites: Site[] = [];
    for (const pattern of await this.stored()) {
      // A pattern the browser does not accept (storage.local is not a trusted store) is
      // simply not allowed: nothing is registered beyond what the user granted.
      const allowed = await this.browser.permissions
        .contains({ origins: [pattern] })
        .catch(() => false);
      sites.push({ pattern, allowed });
    }
    const matches = sites.filter((s) => s.allowed).map((s) => s.pattern);
    const { scripting } = this.browser;
    const ids = { ids: [SITES_SCRIPT_ID] };
    const registered = (await scripting.getRegisteredContentScripts(ids)).length > 0;
    if (matches.length === 0) {
      if (registered) await scripting.unregisterContentScripts(ids);
      return sites;
    }
    const script: ContentScript = {
      id: SITES_SCRIPT_ID,
      matches,
      js: this.contentScriptFiles(),
      runAt: "document_idle",
      persistAcrossSessions: true,
    };
    await (registered
      ? scripting.updateContentScripts([script])
      : scripting.registerContentScripts([script]));
    return sites;
  }

  /** The built content script, as the manifest names it (the build renames the source). */
  private contentScriptFiles(): string[] {
    const js = this.browser.runtime.getManifest().content_scripts?.[0]?.js;
    return js && js.length > 0
      ? js
      : fail("INVALID_ARGUMENT", "the manifest has no content script");
  }

  private async stored(): Promise<string[]> {
    const v = (await this.browser.storage.local.get(KEY))[KEY];
    return Array.isArray(v) ? v.filter((p): p is string => typeof p === "string") : [];
  }

  private store(sites: string[]): Promise<void> {
    return this.browser.storage.local.set({ [KEY]: sites });
  }
}

function isAllSites(site: string): boolean {
  return site === "https://*/*" || site === "http://*/*";
}
