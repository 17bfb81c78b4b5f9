/**
 * What the popup and the decrypt frame show of the history: conversations with their
 * unread counts, one thread, and a decrypted armor block. Opening a thread marks it read.
 */
import { dearmor } from "../../protocol/armor.js";
import type { Client } from "../../protocol/client.js";
import { messageId } from "../../protocol/conversation.js";
import { ProtocolError } from "../../protocol/errors.js";
import type { MessageRecord } from "../../protocol/records.js";
import type { Conversation, Decrypted, Responses } from "../shared/messages.js";
import type { ReadMarks } from "./read-marks.js";

/** One entry per peer, the most recent first. */
export async function conversations(client: Client, marks: ReadMarks): Promise<Conversation[]> {
  const history = await client.history();
  const unread = marks.unread(history);
  const last = new Map<string, MessageRecord>();
  for (const m of history) last.set(m.peer, m);
  return [...last.values()]
    .sort((a, b) => b.seq - a.seq)
    .map((m) => ({ peer: m.peer, last: m, unread: unread.get(m.peer) ?? 0 }));
}

/** A peer's messages, oldest first, each with its delivery state; marks them read. */
export async function thread(
  client: Client,
  marks: ReadMarks,
  peer: string,
): Promise<Responses["thread"]> {
  const messages = await client.history(peer);
  const newest = messages.at(-1);
  if (newest) await marks.markRead(peer, newest.seq);
  return { peer, messages };
}

/**
 * Decrypts an armored message. A block decrypted before (a reload, a second click, or our
 * own message) is a replay for the protocol; if the history holds it, it is shown again.
 */
export async function decryptArmor(client: Client, armor: string): Promise<Decrypted> {
  try {
    const r = await client.decrypt(armor);
    const { from: peer, ...rest } = r;
    return { ...rest, peer, direction: "in", again: false };
  } catch (e) {
    if (!ProtocolError.is(e, "REPLAY")) throw e;
    const id = messageId(dearmor(armor, "MESSAGE").data);
    const m = (await client.history()).find((h) => h.id === id);
    if (!m) throw e;
    const verified = (await client.contacts()).some((c) => c.address === m.peer && c.verified);
    return {
      id,
      peer: m.peer,
      direction: m.direction,
      text: m.text,
      at: m.at,
      verified,
      firstContact: false,
      newContact: false,
      again: true,
    };
  }
}
