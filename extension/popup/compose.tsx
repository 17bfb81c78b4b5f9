/**
 * Writing a message: To, Message, Send. In a thread, To is the thread's peer. Sending to a
 * contact whose identity key changed is blocked until the user has reviewed it in Contacts
 * (the worker refuses too: background/key-changes.ts).
 */
import { useEffect, useState } from "preact/hooks";
import { ProtocolError } from "../../protocol/errors.js";
import type { ContactSummary } from "../shared/messages.js";
import { type Problem, useApi } from "./api.js";
import { askAddressAccess, NO_ACCESS } from "./relay-access.js";
import { ErrorLine, useAction } from "./ui.js";

export function Compose({
  to: initialTo,
  onSent,
  onReview,
}: {
  to?: string;
  onSent: (to: string) => void;
  /** Opens Contacts, where a changed key is reviewed. */
  onReview?: (address: string) => void;
}) {
  const api = useApi();
  const [to, setTo] = useState(initialTo ?? "");
  const [text, setText] = useState("");
  const [queued, setQueued] = useState<Problem | null>(null);
  const [contacts, setContacts] = useState<ContactSummary[]>([]);
  const { busy, problem, setProblem, run } = useAction();

  async function loadContacts() {
    const list = await api.contacts().catch(() => null);
    if (list) setContacts(list);
  }
  useEffect(() => {
    loadContacts();
  }, [api]);

  const peer = to.trim();
  const blocked = contacts.find((c) => c.keyChanged && (c.address === peer || c.name === peer));

  async function submit(e: Event) {
    e.preventDefault();
    if (blocked) return;
    // In the user's click, before any await (relay-access.ts): a new address's relay.
    if (!(await askAddressAccess(peer))) {
      setProblem(NO_ACCESS);
      return;
    }
    const result = await run(() =>
      api.send({ to: peer, text }).catch(async (err: unknown) => {
        // The worker learnt of a change since the list was loaded: show it here.
        if (ProtocolError.is(err, "IDENTITY_CHANGED")) await loadContacts();
        throw err;
      }),
    );
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
      {blocked && (
        <div class="warning" role="alert">
          <p>
            <strong>
              Sending to {blocked.address} is blocked: their identity key has changed.
            </strong>{" "}
            This can mean they reinstalled, or that someone is impersonating them. Compare the
            safety number with them, then accept the new key or keep the old one.{" "}
            <code>(IDENTITY_CHANGED)</code>
          </p>
          {onReview && (
            <button type="button" class="link" onClick={() => onReview(blocked.address)}>
              Review {blocked.address} in Contacts
            </button>
          )}
        </div>
      )}
      <ErrorLine problem={blocked ? null : problem} />
      {queued && (
        <p class="hint" role="status">
          {queued.text} <code>({queued.code})</code>
        </p>
      )}
      <button type="submit" class="primary" disabled={busy || blocked !== undefined}>
        Send
      </button>
    </form>
  );
}
