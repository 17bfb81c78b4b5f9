/**
 * The one place where requests from the popup, the frames and the content script are
 * answered: one small function per request type. `dispatch.ts` checks the shape and the
 * sender before any of these runs; errors thrown here cross to the caller with their code.
 */
import { armor } from "../../protocol/armor.js";
import { fail, ProtocolError } from "../../protocol/errors.js";
import type { RequestOf, RequestType, Responses } from "../shared/messages.js";
import { backupHandlers } from "./backup.js";
import * as views from "./conversations.js";
import type { Inbox } from "./inbox.js";
import type { Insertions } from "./insertions.js";
import { checkReviewed, keyChangeHandlers, lookUpReviewed, withKeyChanges } from "./key-changes.js";
import { pageHandlers } from "./page-handlers.js";
import { type Session, unlockedState } from "./session.js";
import type { Sites } from "./sites.js";

export interface Context {
  session: Session;
  inbox: Inbox;
  /** Page actions and site access (main.ts wires them; tests that need them do too). */
  insertions?: Insertions;
  sites?: Sites;
}

export type Handler<T extends RequestType> = (
  req: RequestOf<T>,
  ctx: Context,
) => Promise<Responses[T]>;

/** The same rule as the popup's onboarding; the worker does not trust the popup to check. */
const MIN_PASSWORD = 10;
function checkPassword(p: string): void {
  if ([...p].length < MIN_PASSWORD)
    fail("INVALID_ARGUMENT", `the password needs at least ${MIN_PASSWORD} characters`);
}

export const handlers = {
  state: (_r, { session }) => session.state(),

  async createAccount({ relay, name, password }, { session }) {
    checkPassword(password);
    const client = await session.create({ relay, name, password });
    let registered = false;
    try {
      const relayFingerprint = await client.register();
      await session.setSettings({ relay: client.relay, relayFingerprint });
      registered = true;
    } catch (e) {
      if (!ProtocolError.is(e)) throw e;
      // Refused (the name is taken): start over. Unreachable: publishing is retried later.
      if (e.code === "RELAY_REJECTED") {
        await session.discardAccount();
        throw e;
      }
    }
    return { ...unlockedState(client), registered };
  },

  async unlock({ password }, { session, inbox }) {
    const client = await session.unlock(password);
    await inbox.badge();
    return unlockedState(client);
  },

  async lock(_r, { session, inbox }) {
    await inbox.stop();
    await session.lock();
    return session.state();
  },

  contacts: async (_r, { session }) =>
    withKeyChanges(session, await (await session.require()).contacts()),

  async addContact({ address, bundle, acceptChangedIdentity }, { session }) {
    const client = await session.require();
    const opts = { acceptChangedIdentity: acceptChangedIdentity === true };
    if (bundle !== undefined && address === undefined) return client.addContact(bundle, opts);
    if (address !== undefined && bundle === undefined)
      return lookUpReviewed(session, client, address, opts.acceptChangedIdentity);
    return fail("INVALID_ARGUMENT", "give either an address or a bundle");
  },

  async verifyContact({ address, verified }, { session }) {
    const client = await session.require();
    await client.markVerified(address, verified ?? true);
    return client.contact(address);
  },

  contact: async ({ address }, { session }) => (await session.require()).contact(address),

  async send({ to, text }, { session }) {
    const client = await session.require();
    await checkReviewed(session, client, to);
    return client.send(to, text);
  },

  async fetch(_r, { session, inbox }) {
    const result = await inbox.fetch(await session.require());
    await inbox.badge();
    return result;
  },

  conversations: async (_r, { session }) =>
    views.conversations(await session.require(), session.marks()),

  async thread({ peer }, { session, inbox }) {
    const result = await views.thread(await session.require(), session.marks(), peer);
    await inbox.badge();
    return result;
  },

  async changePassword({ oldPassword, newPassword }, { session }) {
    checkPassword(newPassword);
    await session.changePassword(oldPassword, newPassword);
    return null;
  },

  settings: (_r, { session }) => session.settings(),

  setSettings: ({ autoLockMinutes, relay }, { session }) =>
    session.setSettings({
      ...(autoLockMinutes !== undefined ? { autoLockMinutes } : {}),
      ...(relay !== undefined ? { relay } : {}),
    }),

  async encryptFor({ to, text, compact }, { session }) {
    const client = await session.require();
    await checkReviewed(session, client, to);
    const { envelope } = await client.encrypt(to, text);
    return armor("MESSAGE", envelope, { compact });
  },

  decryptArmor: async ({ armor }, { session }) =>
    views.decryptArmor(await session.require(), armor),

  exportBundle: async (_r, { session }) => (await session.require()).exportBundle(),

  ...pageHandlers,
  ...backupHandlers,
  ...keyChangeHandlers,
} satisfies { [T in RequestType]: Handler<T> };
