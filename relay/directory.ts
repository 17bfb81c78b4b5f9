/**
 * The directory (docs/protocol.md §13.4): `PUT /v1/directory/:name` registers or rotates
 * a bundle, `GET /v1/directory/:name` returns it with the relay's hybrid signature and
 * its inclusion in a signed checkpoint. A name belongs to the first identity that
 * registers it; a rotation must be signed by that identity and be newer.
 */
import { Hono } from "hono";
import { decodeBundle, verifyBundle } from "../protocol/bundle.js";
import { base64url, equal } from "../protocol/bytes.js";
import { ProtocolError } from "../protocol/errors.js";
import { NAME_PATTERN } from "../protocol/identity.js";
import { sha256 } from "../protocol/kdf.js";
import { entryBody, RegisterRequest } from "../protocol/relay-api.js";
import type { RelayContext } from "./app.js";
import { relayFail } from "./errors.js";
import { bytesField, readJson } from "./json.js";
import { limiter } from "./limits.js";
import { checkpointJson, entryJson } from "./present.js";

function checkName(name: string): string {
  if (!NAME_PATTERN.test(name)) relayFail("BAD_REQUEST", "invalid name");
  return name;
}

export function directoryRoutes(ctx: RelayContext) {
  const { store, signer, config, now } = ctx;
  const app = new Hono();

  app.put("/:name", limiter(ctx, "write"), async (c) => {
    const name = checkName(c.req.param("name"));
    const body = await readJson(c, RegisterRequest);
    const bytes = bytesField(body.bundle, "bundle");
    let bundle: ReturnType<typeof decodeBundle>;
    try {
      bundle = decodeBundle(bytes);
      await verifyBundle(bundle, now());
    } catch (e) {
      if (ProtocolError.is(e)) return relayFail("BAD_BUNDLE", `bundle rejected: ${e.message}`);
      throw e;
    }
    if (bundle.name !== name) relayFail("BAD_BUNDLE", "the bundle is for another name");
    if (bundle.relay !== config.url)
      relayFail(
        "BAD_BUNDLE",
        `the bundle names relay ${bundle.relay}, but this relay is ${config.url}`,
      );
    // Refuse early, before spending an ML-DSA signature; putEntry re-checks atomically.
    const current = await store.getEntry(name);
    if (current && !equal(current.identityKey, bundle.identityKey))
      relayFail("NAME_TAKEN", `the name ${name} belongs to another identity`);
    // The same bundle again (a retry whose answer was lost) is a success, not a conflict.
    if (current && equal(current.bundle, bytes)) return c.json(entryJson(current), 200);
    if (current && current.created >= bundle.created)
      relayFail("STALE_BUNDLE", "a newer bundle is registered");
    const at = now();
    const leaf = entryBody({ name, bundleHash: sha256(bytes), at });
    const signature = await signer.signEntry(leaf);
    const r = await store.putEntry(
      {
        name,
        bundle: bytes,
        identityKey: bundle.identityKey,
        created: bundle.created,
        at,
        signature,
      },
      leaf,
    );
    if (r.status === "conflict") {
      if (!equal(r.current.identityKey, bundle.identityKey))
        relayFail("NAME_TAKEN", `the name ${name} belongs to another identity`);
      relayFail("STALE_BUNDLE", "a newer bundle is registered");
    }
    ctx.logger?.info(
      { event: "register", name, rotation: current !== undefined },
      "directory entry stored",
    );
    return c.json(entryJson(r.entry), current ? 200 : 201);
  });

  app.get("/:name", limiter(ctx, "read"), async (c) => {
    const entry = await store.getEntry(checkName(c.req.param("name")));
    if (!entry) return relayFail("UNKNOWN_USER", "no such user");
    const checkpoint = await ctx.log.covering(entry.index + 1);
    if (!checkpoint) return relayFail("UNAVAILABLE", "the log has no checkpoint");
    const proof = await ctx.log.inclusionProof(entry.index, checkpoint.size);
    return c.json({
      ...entryJson(entry),
      checkpoint: checkpointJson(checkpoint),
      proof: proof.map(base64url.encode),
    });
  });

  return app;
}
