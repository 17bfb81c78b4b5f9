/** Settings: the account, auto-lock, the relay and its fingerprint, and the password. */
import { useEffect, useState } from "preact/hooks";
import type { Settings as SettingsValue, UnlockedState } from "../shared/messages.js";
import { useApi } from "./api.js";
import { ExportBackup, ImportBackup } from "./backup.js";
import { MIN_PASSWORD } from "./onboarding.js";
import { Sites } from "./sites.js";
import { ErrorLine, InvalidLine, NewPasswordField, useAction } from "./ui.js";

export function Settings({
  account,
  onAccount,
}: {
  account: UnlockedState;
  /** The account changed (a backup replaced it). */
  onAccount?: (state: UnlockedState) => void;
}) {
  const api = useApi();
  const [settings, setSettings] = useState<SettingsValue | null>(null);
  const [minutes, setMinutes] = useState("");
  const [saved, setSaved] = useState(false);
  const load = useAction();
  const save = useAction();

  useEffect(() => {
    load
      .run(() => api.settings())
      .then((s) => {
        if (!s) return;
        setSettings(s);
        setMinutes(String(s.autoLockMinutes));
      });
  }, [api]);

  async function submit(e: Event) {
    e.preventDefault();
    setSaved(false);
    const s = await save.run(() => api.setSettings({ autoLockMinutes: Number(minutes) }));
    if (s) {
      setSettings(s);
      setSaved(true);
    }
  }

  return (
    <div class="screen">
      <h2>Settings</h2>
      <dl>
        <dt>Address</dt>
        <dd>{account.address}</dd>
        <dt>Your fingerprint</dt>
        <dd>
          <code>{account.fingerprint}</code>
        </dd>
        <dt>Relay</dt>
        <dd>{account.relay}</dd>
        <dt>Relay fingerprint</dt>
        <dd>
          {settings?.relayFingerprint ? (
            <code>{settings.relayFingerprint}</code>
          ) : (
            <span class="hint">Not known yet (not registered at the relay)</span>
          )}
        </dd>
      </dl>
      <p class="hint">
        The relay is part of your address, so this account stays on it. To use another relay, create
        a new account there (in a new browser profile, or after replacing this one); your contacts
        then add the new address.
      </p>
      <ErrorLine problem={load.problem} />
      <form class="row" onSubmit={submit}>
        <label class="grow">
          Auto-lock after (minutes)
          <input
            type="number"
            min={1}
            required
            value={minutes}
            onInput={(e) => setMinutes(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={save.busy}>
          Save
        </button>
      </form>
      <ErrorLine problem={save.problem} />
      {saved && (
        <p class="hint" role="status">
          Saved.
        </p>
      )}
      <Sites />
      <ChangePassword />
      <ExportBackup />
      <ImportBackup replace onDone={(state) => onAccount?.(state)} />
    </div>
  );
}

function ChangePassword() {
  const api = useApi();
  const [oldPassword, setOld] = useState("");
  const [newPassword, setNew] = useState("");
  const [invalid, setInvalid] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const { busy, problem, run } = useAction();

  async function submit(e: Event) {
    e.preventDefault();
    setDone(false);
    if ([...newPassword].length < MIN_PASSWORD) {
      setInvalid(`The new password needs at least ${MIN_PASSWORD} characters.`);
      return;
    }
    setInvalid(null);
    const r = await run(() => api.changePassword({ oldPassword, newPassword }));
    if (r !== undefined) {
      setOld("");
      setNew("");
      setDone(true);
    }
  }

  return (
    <form class="screen" onSubmit={submit} aria-labelledby="change-password-title">
      <h3 id="change-password-title">Password</h3>
      <label>
        Current password
        <input
          type="password"
          required
          autoComplete="current-password"
          value={oldPassword}
          onInput={(e) => setOld(e.currentTarget.value)}
        />
      </label>
      <NewPasswordField label="New password" value={newPassword} onInput={setNew} />
      <InvalidLine text={invalid} />
      <ErrorLine problem={problem} />
      {done && (
        <p class="hint" role="status">
          Password changed.
        </p>
      )}
      <button type="submit" disabled={busy}>
        Change password
      </button>
    </form>
  );
}
