/** The account exists but its keys are not in memory: ask for the password. */
import { useEffect, useRef, useState } from "preact/hooks";
import type { UnlockedState } from "../shared/messages.js";
import { useApi } from "./api.js";
import { ErrorLine, useAction } from "./ui.js";

export function Unlock({ onDone }: { onDone: (state: UnlockedState) => void }) {
  const api = useApi();
  const [password, setPassword] = useState("");
  const { busy, problem, run } = useAction();
  const field = useRef<HTMLInputElement>(null);

  // The popup opens on this screen: the password is the only thing to type.
  useEffect(() => {
    field.current?.focus();
  }, []);

  async function submit(e: Event) {
    e.preventDefault();
    const state = await run(() => api.unlock({ password }));
    if (state) onDone(state);
    else {
      setPassword("");
      field.current?.focus();
    }
  }

  return (
    <form class="screen" onSubmit={submit} aria-labelledby="unlock-title">
      <h2 id="unlock-title">Unlock</h2>
      <label>
        Password
        <input
          type="password"
          required
          autoComplete="current-password"
          ref={field}
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </label>
      <ErrorLine problem={problem} />
      <button type="submit" class="primary" disabled={busy}>
        Unlock
      </button>
      {busy && (
        <p class="hint" role="status">
          Unlocking…
        </p>
      )}
    </form>
  );
}
