/** One conversation: messages in order, each with its time and (outgoing) delivery state. */
import { useEffect, useState } from "preact/hooks";
import type { ThreadMessage } from "../shared/messages.js";
import { useApi } from "./api.js";
import { Compose } from "./compose.js";
import { ErrorLine, formatTime, useAction } from "./ui.js";

export function Thread({
  peer,
  onBack,
  onReview,
}: {
  peer: string;
  onBack: () => void;
  onReview?: (address: string) => void;
}) {
  const api = useApi();
  const [messages, setMessages] = useState<ThreadMessage[] | null>(null);
  const { problem, run } = useAction();

  async function load() {
    const t = await run(() => api.thread({ peer }));
    if (t) setMessages([...t.messages].sort((a, b) => a.seq - b.seq));
  }
  useEffect(() => {
    load();
  }, [api, peer]);

  return (
    <div class="screen">
      <div class="row">
        <button type="button" onClick={onBack}>
          Back
        </button>
        <h2 class="peer">{peer}</h2>
      </div>
      <ErrorLine problem={problem} />
      {messages?.length === 0 && <p class="hint">No messages yet.</p>}
      <ol class="thread" aria-label={`Messages with ${peer}`}>
        {messages?.map((m) => (
          <li key={m.id} class={`msg ${m.direction}`}>
            <p class="text">{m.text}</p>
            <p class="meta">
              <time dateTime={new Date(m.at).toISOString()}>{formatTime(m.at)}</time>
              {m.direction === "out" && m.state && (
                <span class={`state ${m.state}`} title={m.error}>
                  {" · "}
                  {m.state}
                  {m.state === "failed" && m.errorCode ? ` (${m.errorCode})` : ""}
                </span>
              )}
            </p>
          </li>
        ))}
      </ol>
      <Compose to={peer} onSent={load} {...(onReview ? { onReview } : {})} />
    </div>
  );
}
