/**
 * The relay key and the data it signed (docs/protocol.md §13.2). If the key file was
 * replaced (lost, or rotated on purpose), everything in the data folder still carries
 * signatures by the old key, which clients would reject after accepting the new one.
 * The relay refuses to start in that state unless told to re-sign everything.
 */
import { sha256 } from "../protocol/kdf.js";
import { verifyReceipt } from "../protocol/receipt.js";
import { Context, checkpointBody, entryBody, receiptBody } from "../protocol/relay-api.js";
import { verifyHybrid } from "../protocol/sign.js";
import type { RelaySigner } from "./signer.js";
import type { RelayStore } from "./storage/types.js";

/** True when the stored signatures we can sample were made by `signer`'s keys. */
async function signedByThisKey(store: RelayStore, signer: RelaySigner): Promise<boolean> {
  const cp = await store.latestCheckpoint();
  if (
    cp &&
    !(await verifyHybrid(signer.hybridPublic, Context.checkpoint, checkpointBody(cp), cp.signature))
  )
    return false;
  const [entry] = await store.allEntries();
  if (entry) {
    const body = entryBody({ name: entry.name, bundleHash: sha256(entry.bundle), at: entry.at });
    if (!(await verifyHybrid(signer.hybridPublic, Context.directory, body, entry.signature)))
      return false;
  }
  const [m] = await store.allMessages();
  if (m) {
    const body = receiptBody({ id: m.id, to: m.to, envelopeHash: sha256(m.envelope), at: m.at });
    if (!(await verifyReceipt(signer.edPublic, body, m.receipt))) return false;
  }
  return true;
}

/**
 * Checks the data matches the key; with `rekey`, re-signs every entry and message and
 * drops the old checkpoints instead of refusing. Returns whether it re-signed.
 */
/** Receipts re-signed per signature at a change of key. */
const REKEY_BATCH = 256;

export async function checkRelayKey(
  store: RelayStore,
  signer: RelaySigner,
  rekey: boolean,
): Promise<boolean> {
  if (await signedByThisKey(store, signer)) return false;
  if (!rekey)
    throw new Error(
      "this data folder was signed by another relay key (was relay.key replaced?), or holds receipts of the " +
        "format before batch receipts (protocol §13.2): restore the old key file, " +
        "or start with --rekey to re-sign everything with this key file's keys (if they changed, clients will warn that the relay's keys changed)",
    );
  const entries = [];
  for (const e of await store.allEntries()) {
    const body = entryBody({ name: e.name, bundleHash: sha256(e.bundle), at: e.at });
    entries.push({ name: e.name, signature: await signer.signEntry(body) });
  }
  const messages = [];
  const all = await store.allMessages();
  // Signed in batches, as deposits are: one signature, and short audit paths.
  for (let i = 0; i < all.length; i += REKEY_BATCH) {
    const batch = all.slice(i, i + REKEY_BATCH);
    const receipts = signer.signReceipts(
      batch.map((m) =>
        receiptBody({ id: m.id, to: m.to, envelopeHash: sha256(m.envelope), at: m.at }),
      ),
    );
    for (const [j, m] of batch.entries())
      messages.push({ to: m.to, id: m.id, receipt: receipts[j]! });
  }
  await store.resign(entries, messages);
  return true;
}
