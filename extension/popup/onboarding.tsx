/**
 * First run: create the account (keys, Argon2id-wrapped keystore, relay registration), or
 * import one from a backup. The relay is chosen here and only here: it is part of the
 * account's address (`name@host`), so an account never moves to another relay.
 */
import { useEffect, useState } from "preact/hooks";
import type { UnlockedState } from "../shared/messages.js";
import { useApi } from "./api.js";
import { ImportBackup } from "./backup.js";
import { askRelayAccess, NO_ACCESS } from "./relay-access.js";
import { ErrorLine, InvalidLine, NewPasswordField, useAction } from "./ui.js";

/** The worker enforces the same minimum (background/handlers.ts). */
export const MIN_PASSWORD = 10;

/** A rough hint, not a guarantee: length and variety of characters. */
export function strength(password: string): "too short" | "weak" | "fair" | "strong" {
  const length = [...password].length;
  if (length < MIN_PASSWORD) return "too short";
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(password));
  const score = kinds.length + (length >= 16 ? 2 : length >= 12 ? 1 : 0);
  return score >= 5 ? "strong" : score >= 3 ? "fair" : "weak";
}

export function Onboarding({ onDone }: { onDone: (state: UnlockedState) => void }) {
  const [importing, setImporting] = useState(false);
  return (
    <div class="screen">
      {importing ? (
        <section class="screen" aria-labelledby="restore-title">
          <h2 id="restore-title">Restore your account</h2>
          <ImportBackup onDone={(state) => onDone(state)} />
        </section>
      ) : (
        <CreateAccount onDone={onDone} />
      )}
      <p class="hint">{importing ? "No backup?" : "Have a backup file?"}</p>
      <button type="button" onClick={() => setImporting(!importing)}>
        {importing ? "Create a new account instead" : "Import backup"}
      </button>
    </div>
  );
}

function CreateAccount({ onDone }: { onDone: (state: UnlockedState) => void }) {
  const api = useApi();
  const [relay, setRelay] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [invalid, setInvalid] = useState<string | null>(null);
  const { busy, problem, run } = useAction();

  useEffect(() => {
    // Offer the configured relay; without one the field simply starts empty.
    api.settings().then(
      (s) => setRelay((r) => r || s.relay),
      () => {},
    );
  }, [api]);

  async function submit(e: Event) {
    e.preventDefault();
    if ([...password].length < MIN_PASSWORD) {
      setInvalid(`The password needs at least ${MIN_PASSWORD} characters.`);
      return;
    }
    if (password !== confirm) {
      setInvalid("The passwords do not match.");
      return;
    }
    setInvalid(null);
    // A relay other than the local host needs the user's permission, asked in this click.
    if (!(await askRelayAccess(relay.trim()))) {
      setInvalid(NO_ACCESS.text);
      return;
    }
    const state = await run(() =>
      api.createAccount({ relay: relay.trim(), name: name.trim(), password }),
    );
    if (state) onDone(state);
  }

  const hint = password ? strength(password) : null;
  return (
    <form class="screen" onSubmit={submit} aria-labelledby="onboarding-title">
      <h2 id="onboarding-title">Create your account</h2>
      <label>
        Relay URL
        <input
          type="url"
          required
          value={relay}
          placeholder="https://relay.example"
          onInput={(e) => setRelay(e.currentTarget.value)}
        />
      </label>
      <label>
        Name
        <input
          required
          autoComplete="username"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
      </label>
      <label>
        Password
        <input
          type="password"
          required
          autoComplete="new-password"
          aria-describedby="password-hint"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </label>
      <p id="password-hint" class="hint" aria-live="polite">
        {hint ? `Strength: ${hint}` : `At least ${MIN_PASSWORD} characters.`}
      </p>
      <NewPasswordField label="Confirm password" value={confirm} onInput={setConfirm} />
      <InvalidLine text={invalid} />
      <ErrorLine problem={problem} />
      <button type="submit" class="primary" disabled={busy}>
        Create account
      </button>
      {busy && (
        <p class="hint" role="status">
          Creating keys and protecting them with your password… this takes a few seconds.
        </p>
      )}
    </form>
  );
}
