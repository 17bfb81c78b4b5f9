/** Writing a message: To, Message, Send. In a thread, To is the thread's peer. */
import { useState } from "preact/hooks";
import { type Problem, useApi } from "./api.js";
import { ErrorLine, useAction } from "./ui.js";

export function Compose({ to: initialTo, onSent }: { to?: string; onSent: (to: string) => void }) {
  const api = useApi();
  const [to, setTo] = useState(initialTo ?? "");
  const [text, setText] = useState("");
  const [queued, setQueued] = useState<Problem | null>(null);
  const { busy, problem, run } = useAction();

  async function submit(e: Event) {
    e.preventDefault();
    const peer = to.trim();
    const result = await run(() => api.send({ to: peer, text }));
    if (!result) return;
    setText("");
    // Not delivered yet: the outbox retries; say so calmly rather than as a failure.
    setQueued(
      result.delivered
        ? null
        : {
            code: result.errorCode ?? "QUEUED",
            text: "Saved; it will be sent when the relay is reachable.",
          },
    );
    onSent(peer);
  }

  return (
    <form class="compose" onSubmit={submit} aria-label="Compose">
      <label class={initialTo !== undefined ? "inline" : undefined}>
        To
        <input
          required
          value={to}
          readOnly={initialTo !== undefined}
          placeholder="name@relay"
          onInput={(e) => setTo(e.currentTarget.value)}
        />
      </label>
      <label>
        Message
        <textarea required rows={3} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </label>
      <ErrorLine problem={problem} />
      {queued && (
        <p class="hint" role="status">
          {queued.text} <code>({queued.code})</code>
        </p>
      )}
      <button type="submit" class="primary" disabled={busy}>
        Send
      </button>
    </form>
  );
}
