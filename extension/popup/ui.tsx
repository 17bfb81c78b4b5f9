/** Small pieces shared by the screens: the error line and an async-action helper. */
import { useState } from "preact/hooks";
import { type Problem, toProblem } from "./api.js";
import { RelayKeyChanged } from "./relay-key.js";

export function ErrorLine({ problem }: { problem: Problem | null }) {
  if (!problem) return null;
  const line = (
    <p class="error" role="alert">
      {problem.text} <code>({problem.code})</code>
    </p>
  );
  // A changed relay key is never just an error: show what the relay presents now, and
  // let the user accept exactly that (relay-key.tsx).
  if (problem.code === "RELAY_KEY_CHANGED")
    return <RelayKeyChanged problem={problem}>{line}</RelayKeyChanged>;
  return line;
}

/**
 * Runs one request at a time for a form: `busy` while it runs, `problem` when it fails.
 * Returns the result, or undefined after a failure (already shown).
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  async function run<T>(work: () => Promise<T>): Promise<T | undefined> {
    setBusy(true);
    setProblem(null);
    try {
      return await work();
    } catch (e) {
      setProblem(toProblem(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  }
  return { busy, problem, setProblem, run };
}

export function formatTime(at: number): string {
  return new Date(at).toLocaleString(undefined, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** A validation message for the form above it (announced to screen readers). */
export function InvalidLine({ text }: { text: string | null | undefined }) {
  return text ? (
    <p class="error" role="alert">
      {text}
    </p>
  ) : null;
}

/** A labelled password input for choosing a new password. */
export function NewPasswordField(props: {
  label: string;
  value: string;
  onInput: (v: string) => void;
}) {
  return (
    <label>
      {props.label}
      <input
        type="password"
        required
        autoComplete="new-password"
        value={props.value}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </label>
  );
}
