/** Conversations, newest first, with unread counts; opening one shows its thread. */
import { useEffect, useState } from "preact/hooks";
import type { Conversation } from "../shared/messages.js";
import { useApi } from "./api.js";
import { ErrorLine, formatTime, useAction } from "./ui.js";

export function Inbox({
  onOpen,
  onCompose,
}: {
  onOpen: (peer: string) => void;
  onCompose: () => void;
}) {
  const api = useApi();
  const [list, setList] = useState<Conversation[] | null>(null);
  const { busy, problem, run } = useAction();

  useEffect(() => {
    run(() => api.conversations()).then((c) => c && setList(c));
  }, [api]);

  async function refresh() {
    // Fetching may fail (relay down); the stored conversations still show.
    await run(() => api.fetch());
    const c = await api.conversations().catch(() => null);
    if (c) setList(c);
  }

  return (
    <div class="screen">
      <div class="row">
        <h2>Inbox</h2>
        <button type="button" onClick={refresh} disabled={busy}>
          Check now
        </button>
        <button type="button" class="primary" onClick={onCompose}>
          New message
        </button>
      </div>
      <ErrorLine problem={problem} />
      {list?.length === 0 && <p class="hint">No conversations yet.</p>}
      {list && list.length > 0 && (
        <ul class="list" aria-label="Conversations">
          {list.map((c) => (
            <li key={c.peer}>
              <button type="button" class="item" onClick={() => onOpen(c.peer)}>
                <span class="peer">{c.peer}</span>
                {c.unread > 0 && (
                  <span class="badge">
                    {c.unread}
                    <span class="sr-only"> unread</span>
                  </span>
                )}
                <span class="preview">
                  {c.last.direction === "out" ? "You: " : ""}
                  {c.last.text}
                </span>
                <time class="time" dateTime={new Date(c.last.at).toISOString()}>
                  {formatTime(c.last.at)}
                </time>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
