/** The popup's router: which screen follows from the worker's state (none, locked, unlocked). */
import { useEffect, useState } from "preact/hooks";
import type { State } from "../shared/messages.js";
import { type Api, ApiContext, type Problem, toProblem } from "./api.js";
import { MainView } from "./main-view.js";
import { Onboarding } from "./onboarding.js";
import { ErrorLine } from "./ui.js";
import { Unlock } from "./unlock.js";

export function App({
  api,
  onLock,
}: {
  api: Api;
  /** Watches for the keys leaving memory (shared/lock-signal.ts); none in tests. */
  onLock?: (then: () => void) => () => void;
}) {
  const [state, setState] = useState<State | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);

  useEffect(() => {
    api.state().then(setState, (e) => setProblem(toProblem(e)));
  }, [api]);
  // A lock (the button here, or auto-lock while the popup stays open in a window) takes
  // every message and draft off the screen: the worker says what follows (the unlock
  // screen; or, during a backup restore that replaces the account, the restored one).
  useEffect(
    () => onLock?.(() => void api.state().then(setState, (e) => setProblem(toProblem(e)))),
    [api, onLock],
  );

  return (
    <ApiContext.Provider value={api}>
      <main class="popup">
        <h1>SECURE-MSG</h1>
        <ErrorLine problem={problem} />
        {state === null && !problem && (
          <p class="hint" role="status">
            Loading…
          </p>
        )}
        {state?.status === "none" && <Onboarding onDone={setState} />}
        {state?.status === "locked" && <Unlock onDone={setState} />}
        {state?.status === "unlocked" && <MainView account={state} onLocked={setState} />}
      </main>
    </ApiContext.Provider>
  );
}
