/**
 * Settings › Sites (issue 4, "Build"): where the extension looks for armored messages.
 * The local host is always watched (the manifest's content script). For any other site,
 * or all of them, the popup asks the browser for the host permission, in the click itself
 * (a permission prompt needs the user's action), and the worker registers the content
 * script for it (extension/background/sites.ts). Removing a site unregisters it.
 */
import { useEffect, useState } from "preact/hooks";
import type { Site } from "../shared/messages.js";
import { ALL_SITES, toSitePattern } from "../shared/sites.js";
import { useApi } from "./api.js";
import { ErrorLine, InvalidLine, useAction } from "./ui.js";

/** The browser's permission prompt; tests pass their own. */
export type AskOrigins = (origins: string[]) => Promise<boolean>;

const browserAsk: AskOrigins = (origins) =>
  globalThis.chrome?.permissions ? chrome.permissions.request({ origins }) : Promise.resolve(false);

function siteName(pattern: string): string {
  if (pattern === ALL_SITES[0]) return "All https sites";
  if (pattern === ALL_SITES[1]) return "All http sites";
  return pattern.replace(/\/\*$/, "");
}

export function Sites({ ask = browserAsk }: { ask?: AskOrigins }) {
  const api = useApi();
  const [sites, setSites] = useState<Site[]>([]);
  const [input, setInput] = useState("");
  const [invalid, setInvalid] = useState<string | null>(null);
  const { busy, problem, run } = useAction();

  useEffect(() => {
    run(() => api.sites()).then((list) => list && setSites(list));
  }, [api]);

  /** Asks the browser and tells the worker at once, both inside the user's click. */
  function allow(patterns: string[]) {
    const asked = ask(patterns).catch(() => false);
    void run(async () => {
      for (const site of patterns) await api.addSite({ site });
      await asked;
      return api.sites();
    }).then((list) => list && setSites(list));
  }

  function add(e: Event) {
    e.preventDefault();
    const pattern = toSitePattern(input);
    if (pattern === null) {
      setInvalid("Give a host such as mail.example.com, or an https:// address.");
      return;
    }
    setInvalid(null);
    setInput("");
    allow([pattern]);
  }

  function remove(site: string) {
    void run(() => api.removeSite({ site })).then((list) => list && setSites(list));
  }

  const allowsAll = ALL_SITES.every((p) => sites.some((s) => s.pattern === p && s.allowed));
  return (
    <section class="screen" aria-labelledby="sites-title">
      <h3 id="sites-title">Sites</h3>
      <p class="hint">
        Encrypted messages get a Decrypt button on these sites. localhost and 127.0.0.1 are always
        included. Encrypting a selection works on every site.
      </p>
      <ul class="list" aria-label="Sites">
        {sites.map((s) => (
          <li key={s.pattern} class="row">
            <span class="grow">
              {siteName(s.pattern)}
              {!s.allowed && <span class="hint"> (not allowed by the browser)</span>}
            </span>
            {!s.allowed && (
              <button type="button" onClick={() => allow([s.pattern])} disabled={busy}>
                Allow
              </button>
            )}
            <button
              type="button"
              aria-label={`Remove ${siteName(s.pattern)}`}
              onClick={() => remove(s.pattern)}
              disabled={busy}
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
      <form class="row" onSubmit={add}>
        <label class="grow">
          Site
          <input
            value={input}
            placeholder="mail.example.com"
            onInput={(e) => setInput(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          Add site
        </button>
      </form>
      <InvalidLine text={invalid} />
      {!allowsAll && (
        <button type="button" onClick={() => allow([...ALL_SITES])} disabled={busy}>
          Allow all sites
        </button>
      )}
      <ErrorLine problem={problem} />
    </section>
  );
}
