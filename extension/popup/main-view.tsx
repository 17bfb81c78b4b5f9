/** The unlocked popup: navigation between Inbox, Contacts and Settings, and Lock. */
import { useEffect, useRef, useState } from "preact/hooks";
import type { State, UnlockedState } from "../shared/messages.js";
import { useApi } from "./api.js";
import { Compose } from "./compose.js";
import { Contacts } from "./contacts.js";
import { Inbox } from "./inbox.js";
import { Settings } from "./settings.js";
import { Thread } from "./thread.js";
import { ErrorLine, useAction } from "./ui.js";

type View =
  | { name: "inbox" | "contacts" | "settings"; review?: string }
  | { name: "compose"; to?: string }
  | { name: "thread"; peer: string };

const TABS = [
  { name: "inbox", label: "Inbox" },
  { name: "contacts", label: "Contacts" },
  { name: "settings", label: "Settings" },
] as const;

export function MainView({
  account,
  onLocked,
}: {
  account: UnlockedState;
  onLocked: (state: State) => void;
}) {
  const api = useApi();
  const [view, setView] = useState<View>({ name: "inbox" });
  const { busy, problem, run } = useAction();
  const tab = view.name === "compose" || view.name === "thread" ? "inbox" : view.name;
  const content = useRef<HTMLElement>(null);

  // Opening a thread or going Back removes the control that had the focus: put it on the
  // new screen's heading (or its first field), so a keyboard user is not sent to the top.
  useEffect(() => {
    const active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    const target = content.current?.querySelector<HTMLElement>("h2, input:not([readonly])");
    if (target?.tagName === "H2") target.tabIndex = -1;
    target?.focus();
  }, [view]);

  async function lock() {
    const state = await run(() => api.lock());
    if (state) onLocked(state);
  }

  return (
    <div class="main-view">
      <header class="bar">
        <nav aria-label="Main">
          {TABS.map((t) => (
            <button
              key={t.name}
              type="button"
              class="tab"
              aria-current={tab === t.name ? "page" : undefined}
              onClick={() => setView({ name: t.name })}
            >
              {t.label}
            </button>
          ))}
        </nav>
        <button type="button" class="lock" onClick={lock} disabled={busy}>
          Lock
        </button>
      </header>
      <ErrorLine problem={problem} />
      <section class="content" ref={content}>
        {view.name === "inbox" && (
          <Inbox
            onOpen={(peer) => setView({ name: "thread", peer })}
            onCompose={() => setView({ name: "compose" })}
          />
        )}
        {view.name === "thread" && (
          <Thread
            peer={view.peer}
            onBack={() => setView({ name: "inbox" })}
            onReview={(address) => setView({ name: "contacts", review: address })}
          />
        )}
        {view.name === "compose" && (
          <Compose
            {...(view.to !== undefined ? { to: view.to } : {})}
            onSent={(to) => setView({ name: "thread", peer: to })}
            onReview={(address) => setView({ name: "contacts", review: address })}
          />
        )}
        {view.name === "contacts" && (
          <Contacts
            onMessage={(to) => setView({ name: "compose", to })}
            {...(view.review !== undefined ? { review: view.review } : {})}
          />
        )}
        {view.name === "settings" && <Settings account={account} onAccount={onLocked} />}
      </section>
    </div>
  );
}
