/**
 * Deposits (docs/protocol.md §13.4): `POST /v1/messages` stores an envelope for a
 * registered user. It is anonymous (sealed sender): the relay learns the recipient, not
 * the sender. The envelope is checked for structure only. The answer, with the relay's
 * signed receipt, is sent only once the message is durable.
 */
import { Hono } from "hono";
import { base64url } from "../protocol/bytes.js";
import { decodeEnvelope, envelopeId } from "../protocol/envelope.js";
import { ProtocolError } from "../protocol/errors.js";
import { sha256 } from "../protocol/kdf.js";
import { DepositRequest, receiptBody } from "../protocol/relay-api.js";
import type { RelayContext } from "./app.js";
import { relayFail } from "./errors.js";
import { bytesField, readJson } from "./json.js";
import { limiter } from "./limits.js";
import type { StoredMessage } from "./storage/types.js";

function depositJson(m: StoredMessage, duplicate: boolean) {
  return { id: base64url.encode(m.id), at: m.at, receipt: base64url.encode(m.receipt), duplicate };
}

export function messageRoutes(ctx: RelayContext) {
  const { store, signer, config, now } = ctx;
  const app = new Hono();

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
    if (!(await store.getEntry(body.to))) return relayFail("UNKNOWN_USER", "no such user");
    const id = envelopeId(envelope);
    const at = now();
    const leaf = receiptBody({ id, to: body.to, envelopeHash: sha256(envelope), at });
    const receipt = await signer.signReceipt(leaf);
    const r = await store.deposit(
      { id, to: body.to, envelope, at, expires: at + config.messageTtlMs, receipt },
      leaf,
      config.mailboxQuota,
    );
    if (r.status === "quota")
      return relayFail("MAILBOX_FULL", "the recipient's mailbox is full: retry later");
    if (r.status === "duplicate") return c.json(depositJson(r.message, true), 200);
    ctx.metrics.deposits.inc();
    ctx.events.publish(body.to, { id: base64url.encode(id), index: r.message.index });
    return c.json(depositJson(r.message, false), 201);
  });

  return app;
}
