/**
 * Account backup in the worker (docs/protocol.md §14): `exportBackup` hands the popup the
 * encrypted file to download, `importBackup` restores one, from onboarding (no account yet)
 * or from settings (replacing this browser's account). Spread into handlers.ts.
 *
 * Exporting carries the identity and prekey secrets out of the worker, so it asks for the
 * account password again: someone at an unlocked popup cannot take the keys without it.
 */
import { backupInput } from "../../protocol/backup.js";
import { base64 } from "../../protocol/bytes.js";
import { fail, ProtocolError } from "../../protocol/errors.js";
import type { StorageAdapter, WriteOp } from "../../protocol/storage.js";
import type { Handler } from "./handlers.js";
import { unlockedState } from "./session.js";

/** The same minimum as every password the popup sets (handlers.ts). */
export const MIN_BACKUP_PASSWORD = 10;

function checkBackupPassword(p: string): void {
  if ([...p].length < MIN_BACKUP_PASSWORD)
    fail(
      "INVALID_ARGUMENT",
      `the backup password needs at least ${MIN_BACKUP_PASSWORD} characters`,
    );
}

/**
 * The storage as a restore must see it, empty, while the write that stores the restored
 * account also deletes every record of the current one: one atomic write (§8.1), so a
 * failure at any point leaves the current account as it was.
 */
export async function replacing(storage: StorageAdapter): Promise<StorageAdapter> {
  const old = await storage.list("");
  return {
    get: async () => undefined,
    list: async () => [],
    write: (ops: WriteOp[]) => {
      const written = new Set(ops.map((o) => o.key));
      const deletes = old.filter((k) => !written.has(k)).map((key) => ({ key, value: null }));
      return storage.write([...deletes, ...ops]);
    },
  };
}

function fileName(address: string, now: Date): string {
  const day = now.toISOString().slice(0, 10);
  return `secure-msg-${address.replace(/[^A-Za-z0-9._-]+/g, "_")}-${day}.backup`;
}

export const backupHandlers = {
  async exportBackup({ password, backupPassword }, { session }) {
    const client = await session.require();
    checkBackupPassword(backupPassword);
    await session.checkPassword(password);
    const file = await client.exportBackup(backupPassword, session.options.kdf);
    return {
      data: base64.encode(file),
      filename: fileName(client.address, new Date()),
      bytes: file.length,
    };
  },

  async importBackup({ data, password, currentPassword }, { session, inbox }) {
    let bytes: Uint8Array;
    try {
      bytes = base64.decode(data);
    } catch {
      return fail("BAD_ENCODING", "the backup file could not be read");
    }
    // Replacing an account needs its password, as exporting one does.
    const replace = currentPassword !== undefined;
    if (replace) {
      await session.require();
      await session.checkPassword(currentPassword);
      await inbox.stop();
    }
    const { client, restored } = await session.restore(backupInput(bytes), password, replace);
    // Publish again (best effort, as at creation): this also shows the relay's fingerprint
    // from the restored pin, and a changed relay key at once.
    let relayFingerprint = "";
    try {
      relayFingerprint = await client.register();
    } catch (e) {
      if (!ProtocolError.is(e)) throw e;
    }
    await session.setSettings({ relay: client.relay, relayFingerprint });
    await inbox.badge();
    return {
      ...unlockedState(client),
      contacts: restored.contacts,
      messages: restored.messages,
      sessions: restored.sessions,
    };
  },
} satisfies { [T in "exportBackup" | "importBackup"]: Handler<T> };
