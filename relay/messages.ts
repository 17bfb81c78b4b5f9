/**
 * Deposits (docs/protocol.md §13.4): `POST /v1/messages` stores an envelope for a
 * registered user. It is anonymous (sealed sender): the relay learns the recipient, not
 * the sender. The envelope is checked for structure only. The answer, with the relay's
 * signed receipt, is sent only once the message is durable: deposits that arrive
 * together are committed together (deposits.ts).
 */
import { createHash, hash } from "node:crypto";
import { Hono } from "hono";
import { utf8 } from "../protocol/bytes.js";
import { decodeEnvelope } from "../protocol/envelope.js";
import { ProtocolError } from "../protocol/errors.js";
import { Label } from "../protocol/kdf.js";
import { DepositRequest, MESSAGE_ID_LENGTH, receiptBody } from "../protocol/relay-api.js";
import type { RelayContext } from "./app.js";
import { relayFail } from "./errors.js";
import { bytesField, readJson } from "./json.js";
import { limiter } from "./limits.js";
import { b } from "./present.js";
import type { StoredMessage } from "./storage/types.js";

/** Names known to be registered. Entries are never deleted, so a hit is never stale. */
const MAX_KNOWN_NAMES = 100_000;
const MESSAGE_ID_LABEL = utf8(Label.messageId);

function depositJson(m: StoredMessage, duplicate: boolean) {
  return { id: b(m.id), at: m.at, receipt: b(m.receipt), duplicate };
}

/**
 * The message id (§6.4, as protocol/envelope.ts envelopeId) and SHA-256 of the envelope,
 * through node:crypto: both hash the whole envelope, and this is the deposit's hot path.
 */
function hashes(envelope: Uint8Array): { id: Uint8Array; envelopeHash: Uint8Array } {
  const id = createHash("sha256").update(MESSAGE_ID_LABEL).update(envelope).digest();
  return {
    id: new Uint8Array(id.subarray(0, MESSAGE_ID_LENGTH)),
    envelopeHash: new Uint8Array(hash("sha256", envelope, "buffer")),
  };
}

export function messageRoutes(ctx: RelayContext) {
  const { store, config, now, deposits } = ctx;
  const app = new Hono();
  const known = new Set<string>();

  async function registered(name: string): Promise<boolean> {
    if (known.has(name)) return true;
    // Only positive answers are kept: a name registered meanwhile is looked up again.
    if (!(await store.getEntry(name))) return false;
    if (known.size >= MAX_KNOWN_NAMES) known.clear();
    known.add(name);
    return true;
  }

  app.post("/", limiter(ctx, "write"), async (c) => {
    const body = await readJson(c, DepositRequest);
    const envelope = bytesField(body.envelope, "envelope");
    if (envelope.length > config.maxEnvelopeBytes)
      relayFail("TOO_LARGE", `the envelope is larger than ${config.maxEnvelopeBytes} bytes`);
    try {
      decodeEnvelope(envelope);
    } catch (e) {
      if (ProtocolError.is(e))
        return relayFail("BAD_ENVELOPE", `not a SECURE-MSG envelope: ${e.message}`);
      throw e;
    }
    if (!(await registered(body.to))) return relayFail("UNKNOWN_USER", "no such user");
    const { id, envelopeHash } = hashes(envelope);
    const at = now();
    const r = await deposits.submit({
      message: { id, to: body.to, envelope, at, expires: at + config.messageTtlMs },
      leaf: receiptBody({ id, to: body.to, envelopeHash, at }),
    });
    if (r.status === "quota")
      return relayFail("MAILBOX_FULL", "the recipient's mailbox is full: retry later");
    if (r.status === "duplicate") return c.json(depositJson(r.message, true), 200);
    ctx.metrics.deposits.inc();
    ctx.events.publish(body.to, { id: b(id), index: r.message.index });
    return c.json(depositJson(r.message, false), 201);
  });

  return app;
}
