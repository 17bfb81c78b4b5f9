/**
 * A relay whose keys changed since first use (RELAY_KEY_CHANGED, docs/protocol.md §13.2):
 * it may be an impostor. The popup shows the fingerprint the relay presents now, next to
 * the one on record, and accepts only on an explicit click, and only those exact keys (the
 * worker refuses if the relay presents others by then).
 */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Responses } from "../shared/messages.js";
import { type Problem, toProblem, useApi } from "./api.js";

/** The relay URL named in the protocol's message ("the relay at URL has new keys"). */
export function changedRelayUrl(problem: Problem): string | null {
  return /the relay at (\S+) has new keys/.exec(problem.message ?? "")?.[1] ?? null;
}

export function RelayKeyChanged({
  problem,
  children,
}: {
  problem: Problem;
  children: ComponentChildren;
}) {
  const api = useApi();
  const url = changedRelayUrl(problem);
  const [shown, setShown] = useState<Responses["relayKey"] | null>(null);
  const [failure, setFailure] = useState<Problem | null>(null);
  const [accepted, setAccepted] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!url) return;
    api.relayKey({ url }).then(setShown, (e) => setFailure(toProblem(e)));
  }, [api, url]);

  async function accept() {
    if (!shown) return;
    setBusy(true);
    setFailure(null);
    try {
      await api.acceptRelayKey({ url: shown.url, fingerprint: shown.fingerprint });
      setAccepted(true);
    } catch (e) {
      setFailure(toProblem(e));
    } finally {
      setBusy(false);
    }
  }

  if (accepted)
    return (
      <p class="hint" role="status">
        The new relay key is accepted. Try again.
      </p>
    );
  return (
    <section class="warning" aria-label="Relay key changed">
      {children}
      {url && <p>The relay at {url} presents new keys. It may be an impostor.</p>}
      {shown && (
        <dl>
          <dt>New relay fingerprint</dt>
          <dd>
            <code>{shown.fingerprint}</code>
          </dd>
          {shown.pinned && (
            <>
              <dt>Fingerprint on record</dt>
              <dd>
                <code>{shown.pinned}</code>
              </dd>
            </>
          )}
        </dl>
      )}
      {failure && (
        <p class="error" role="alert">
          {failure.text} <code>({failure.code})</code>
        </p>
      )}
      {shown && (
        <>
          <p class="hint">
            Accept it only after the relay's operator has confirmed this fingerprint to you.
          </p>
          <button type="button" onClick={accept} disabled={busy}>
            Accept the new relay key
          </button>
        </>
      )}
    </section>
  );
}
