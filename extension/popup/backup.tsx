/**
 * Export backup and Import backup (docs/protocol.md §14). The worker encrypts the file;
 * the popup only hands it to the browser's downloads (a Blob URL) or reads the chosen file.
 * Exporting asks for the account password again, because the file carries the keys.
 */
import { useState } from "preact/hooks";
import { base64 } from "../../protocol/bytes.js";
import type { Responses, UnlockedState } from "../shared/messages.js";
import { useApi } from "./api.js";
import { ErrorLine, InvalidLine, NewPasswordField, useAction } from "./ui.js";

/** As the worker requires (background/backup.ts). */
const MIN_PASSWORD = 10;

/** Saves bytes as a download; tests pass their own. */
export type Download = (filename: string, bytes: Uint8Array) => void;

const browserDownload: Download = (filename, bytes) => {
  const url = URL.createObjectURL(
    new Blob([bytes as BlobPart], { type: "application/octet-stream" }),
  );
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.click();
  // The download has started from the URL; it can go once the click has been handled.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
};

export function ExportBackup({ download = browserDownload }: { download?: Download }) {
  const api = useApi();
  const [password, setPassword] = useState("");
  const [backupPassword, setBackupPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [invalid, setInvalid] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const { busy, problem, run } = useAction();

  async function submit(e: Event) {
    e.preventDefault();
    setSaved(null);
    if ([...backupPassword].length < MIN_PASSWORD) {
      setInvalid(`The backup password needs at least ${MIN_PASSWORD} characters.`);
      return;
    }
    if (backupPassword !== confirm) {
      setInvalid("The backup passwords do not match.");
      return;
    }
    setInvalid(null);
    const r = await run(() => api.exportBackup({ password, backupPassword }));
    if (!r) return;
    download(r.filename, base64.decode(r.data));
    setPassword("");
    setBackupPassword("");
    setConfirm("");
    setSaved(r.filename);
  }

  return (
    <form class="screen" onSubmit={submit} aria-labelledby="export-title">
      <h3 id="export-title">Export backup</h3>
      <p class="hint">
        An encrypted file with your keys, contacts and messages. Whoever has the file and its
        password can read your messages and write as you: use a long password, and keep the file
        safe.
      </p>
      <label>
        Account password
        <input
          type="password"
          required
          autoComplete="current-password"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </label>
      <NewPasswordField
        label="Backup password"
        value={backupPassword}
        onInput={setBackupPassword}
      />
      <NewPasswordField label="Confirm backup password" value={confirm} onInput={setConfirm} />
      <InvalidLine text={invalid} />
      <ErrorLine problem={problem} />
      {busy && (
        <p class="hint" role="status">
          Encrypting the backup…
        </p>
      )}
      {saved && (
        <p class="hint" role="status">
          Backup saved as {saved}.
        </p>
      )}
      <button type="submit" disabled={busy}>
        Export backup
      </button>
    </form>
  );
}

type Imported = Responses["importBackup"];

/**
 * Restores an account from a backup file. From onboarding there is no account yet; from
 * settings (`replace`), the current account is replaced, which needs its password and an
 * explicit confirmation.
 */
export function ImportBackup({
  replace = false,
  onDone,
}: {
  replace?: boolean;
  onDone: (state: UnlockedState, summary: Imported) => void;
}) {
  const api = useApi();
  const [file, setFile] = useState<File | null>(null);
  const [password, setPassword] = useState("");
  const [current, setCurrent] = useState("");
  const [confirmed, setConfirmed] = useState(false);
  const [done, setDone] = useState<Imported | null>(null);
  const { busy, problem, run } = useAction();
  const id = replace ? "import-replace" : "import";

  async function submit(e: Event) {
    e.preventDefault();
    if (!file) return;
    const r = await run(async () => {
      const data = base64.encode(new Uint8Array(await file.arrayBuffer()));
      return api.importBackup({ data, password, ...(replace ? { currentPassword: current } : {}) });
    });
    if (!r) return;
    setPassword("");
    setCurrent("");
    setDone(r);
    const { contacts: _c, messages: _m, sessions: _s, ...state } = r;
    onDone(state, r);
  }

  return (
    <form class="screen" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Import backup</h3>
      <p class="hint">
        {replace
          ? "Replaces the account in this browser with the one in the backup. "
          : "Restores an account from a backup file. "}
        The restored account is protected by the backup's password. Your next message to each
        contact starts a new session; replies to messages sent after the backup was made cannot be
        read.
      </p>
      <label>
        Backup file
        <input
          type="file"
          required
          accept=".backup,application/octet-stream,text/plain"
          onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
        />
      </label>
      <label>
        Password of the backup
        <input
          type="password"
          required
          autoComplete="off"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </label>
      {replace && (
        <>
          <label>
            Password of this account
            <input
              type="password"
              required
              autoComplete="current-password"
              value={current}
              onInput={(e) => setCurrent(e.currentTarget.value)}
            />
          </label>
          <label class="check">
            <input
              type="checkbox"
              required
              checked={confirmed}
              onChange={(e) => setConfirmed(e.currentTarget.checked)}
            />
            Delete this account's keys and messages from this browser
          </label>
        </>
      )}
      <ErrorLine problem={problem} />
      {busy && (
        <p class="hint" role="status">
          Restoring the backup… this takes a few seconds.
        </p>
      )}
      {done && (
        <p class="hint" role="status">
          Restored {done.address}: {done.contacts} contacts, {done.messages} messages.
        </p>
      )}
      <button type="submit" class={replace ? undefined : "primary"} disabled={busy}>
        Import backup
      </button>
    </form>
  );
}
