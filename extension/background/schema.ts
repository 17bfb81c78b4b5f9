/**
 * The shape of each request, checked before a handler runs: a content script is in a web
 * page, and nothing it sends is trusted. The schema must describe exactly the `Request`
 * union of `extension/shared/messages.ts`; a type-level check below keeps them equal.
 */
import { z } from "zod";
import { ExtensionError } from "../shared/errors.js";
import { REQUEST_TYPES, type Request, type RequestType } from "../shared/messages.js";

const s = z.string();
const only = <T extends RequestType>(type: T) => z.object({ type: z.literal(type) });

export const RequestSchema = z.discriminatedUnion("type", [
  only("state"),
  only("createAccount").extend({ relay: s, name: s, password: s }),
  only("unlock").extend({ password: s }),
  only("lock"),
  only("contacts"),
  only("addContact").extend({
    address: s.optional(),
    bundle: s.optional(),
    acceptChangedIdentity: z.boolean().optional(),
  }),
  only("verifyContact").extend({ address: s, verified: z.boolean().optional() }),
  only("contact").extend({ address: s }),
  only("send").extend({ to: s, text: s }),
  only("fetch"),
  only("conversations"),
  only("thread").extend({ peer: s }),
  only("changePassword").extend({ oldPassword: s, newPassword: s }),
  only("settings"),
  only("setSettings").extend({ autoLockMinutes: z.number().optional(), relay: s.optional() }),
  only("encryptFor").extend({ to: s, text: s, compact: z.boolean() }),
  only("decryptArmor").extend({ armor: s }),
  only("exportBundle"),
  only("insertion").extend({ id: s }),
  only("encryptSelection").extend({ id: s, to: s }),
  only("composeInsert").extend({ id: s, to: s, text: s }),
  only("cancelInsertion").extend({ id: s }),
  only("openUnlock"),
  only("sites"),
  only("addSite").extend({ site: s }),
  only("removeSite").extend({ site: s }),
  only("exportBackup").extend({ password: s, backupPassword: s }),
  // Base64 of a backup file: at most 64 MiB of ciphertext, with room for armor.
  only("importBackup").extend({
    data: s.max(128 * 1024 * 1024),
    password: s,
    currentPassword: s.optional(),
  }),
  only("keepContactKey").extend({ address: s }),
  only("relayKey").extend({ url: s }),
  only("acceptRelayKey").extend({ url: s, fingerprint: s }),
]);

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const sameShape: Equal<z.infer<typeof RequestSchema>, Request> = true;
void sameShape;

const TYPES = new Set<string>(REQUEST_TYPES);

/** True for a message that claims to be one of our requests (other messages are ignored). */
export function isRequest(message: unknown): message is { type: RequestType } {
  return (
    typeof message === "object" &&
    message !== null &&
    TYPES.has((message as { type?: unknown }).type as string)
  );
}

/** The request, or BAD_REQUEST naming the first wrong field (never its value). */
export function parseRequest(message: unknown): Request {
  const r = RequestSchema.safeParse(message);
  if (r.success) return r.data;
  const where = r.error.issues[0]?.path.join(".") || "request";
  throw new ExtensionError("BAD_REQUEST", `malformed request: ${where}`);
}
