/**
 * Shared fixtures for the in-memory relay tests: a relay app over a fresh SQLite store,
 * users built with the real Client, and signed inbox requests (docs/protocol.md §13.3).
 */
import { expect } from "vitest";
import { ACCOUNT_KEY, type AccountRecord } from "../../protocol/account.js";
import {
  decodeBundle,
  encodeBundle,
  signBundle,
  type UnsignedBundle,
} from "../../protocol/bundle.js";
import { base64url, randomBytes, utf8 } from "../../protocol/bytes.js";
import { Client } from "../../protocol/client.js";
import { sha256 } from "../../protocol/kdf.js";
import { Keystore } from "../../protocol/keystore.js";
import * as merkle from "../../protocol/merkle.js";
import {
  type Checkpoint,
  Context,
  checkpointBody,
  Header,
  NONCE_LENGTH,
  receiptBody,
  requestBody,
} from "../../protocol/relay-api.js";
import { ED25519_SECRET_LENGTH, ed25519, HybridSigner, verifyHybrid } from "../../protocol/sign.js";
import { MemoryStorage } from "../../protocol/storage.js";
import { createApp, type RelayDeps } from "../../relay/app.js";
import { DEFAULTS, type RelayConfig } from "../../relay/config.js";
import { RelaySigner } from "../../relay/signer.js";
import { SqliteStore } from "../../relay/storage/sqlite.js";
import type { RelayStore } from "../../relay/storage/types.js";

export const RELAY_URL = "http://127.0.0.1:8787";
export const KDF = { m: 1024, t: 1, p: 1 };
const PASSWORD = "relay-test-password";

export type App = ReturnType<typeof createApp>["app"];

// ML-DSA key generation is the slow part of a relay: every test shares one relay key.
let sharedSigner: Promise<RelaySigner> | undefined;
export function relaySigner(): Promise<RelaySigner> {
  sharedSigner ??= RelaySigner.generate();
  return sharedSigner;
}

export interface TestRelay extends ReturnType<typeof createApp> {
  store: RelayStore;
  signer: RelaySigner;
  config: RelayConfig;
}

/** A relay over a fresh in-memory SQLite store; `store` wraps or replaces it. */
export async function makeRelay(
  opts: {
    config?: Partial<RelayConfig>;
    now?: () => number;
    store?: (base: SqliteStore) => RelayStore;
  } & Pick<RelayDeps, "logger" | "events" | "answers"> = {},
): Promise<TestRelay> {
  const base = SqliteStore.open(":memory:");
  const store = opts.store ? opts.store(base) : base;
  const signer = await relaySigner();
  // In-memory requests have no socket, so no loopback address: let tests read /metrics.
  const config: RelayConfig = { ...DEFAULTS, url: RELAY_URL, metrics: "public", ...opts.config };
  const deps: RelayDeps = { store, signer, config };
  if (opts.now) deps.now = opts.now;
  if (opts.logger) deps.logger = opts.logger;
  if (opts.events) deps.events = opts.events;
  if (opts.answers) deps.answers = opts.answers;
  return { ...createApp(deps), store, signer, config };
}

/** A store that delegates to `base` except for the methods in `override`. */
export function patchedStore(base: RelayStore, override: Partial<RelayStore>): RelayStore {
  return new Proxy(base, {
    get(target, prop, receiver) {
      if (prop in override) return override[prop as keyof RelayStore];
      const v = Reflect.get(target, prop, receiver);
      // SqliteStore uses #private fields: its methods must run on the real instance.
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

export interface TestUser {
  name: string;
  client: Client;
  /** The 64-byte hybrid identity seed: Ed25519 seed || ML-DSA seed. */
  identitySeed: Uint8Array;
  /** The Ed25519 half, which signs inbox requests. */
  edSeed: Uint8Array;
  /** The encoded, signed bundle. */
  bundle: Uint8Array;
}

/**
 * A user made the way the CLI makes one. The Client keeps its signer private, so the
 * identity seed is read back from the account record in the user's own keystore.
 */
export async function makeUser(
  name: string,
  relay = RELAY_URL,
  now?: () => number,
): Promise<TestUser> {
  const storage = new MemoryStorage();
  const client = await Client.create(
    storage,
    { name, relay, password: PASSWORD },
    now ? { kdf: KDF, now } : { kdf: KDF },
  );
  const account = await (await Keystore.unlock(storage, PASSWORD)).get<AccountRecord>(ACCOUNT_KEY);
  if (!account) throw new Error("the keystore has no account");
  return {
    name,
    client,
    identitySeed: account.identitySeed,
    edSeed: account.identitySeed.slice(0, ED25519_SECRET_LENGTH),
    bundle: client.bundle(),
  };
}

/** The user's bundle with some fields changed, signed again by the user's identity. */
export async function rebundle(
  user: TestUser,
  changes: Partial<UnsignedBundle>,
): Promise<Uint8Array> {
  const { signature: _, ...unsigned } = decodeBundle(user.bundle);
  const signer = await HybridSigner.fromSeed(user.identitySeed);
  return encodeBundle(await signBundle(signer, { ...unsigned, ...changes }));
}

/** A JSON request as a client sends it. */
export function jsonRequest(
  app: App,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(
    app.request(path, {
      method,
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
}

export function register(app: App, name: string, bundle: Uint8Array): Promise<Response> {
  return jsonRequest(app, "PUT", `/v1/directory/${name}`, { bundle: base64url.encode(bundle) });
}

export function deposit(app: App, to: string, envelope: Uint8Array): Promise<Response> {
  return jsonRequest(app, "POST", "/v1/messages", { to, envelope: base64url.encode(envelope) });
}

/** An envelope from `from` to `to`, as `from`'s client encrypts it. */
export async function envelopeFor(
  from: TestUser,
  to: TestUser,
  text = "hello",
): Promise<Uint8Array> {
  const known = (await from.client.contacts()).some((c) => c.name === to.name);
  if (!known) await from.client.addContact(to.bundle);
  return (await from.client.encrypt(to.name, text)).envelope;
}

export interface SignOptions {
  /** The relay's Ed25519 key the request is bound to; default: the one /v1/info serves. */
  relayKey?: Uint8Array;
  /** The name in the user header (and signed body); default: the user's own. */
  as?: string;
  time?: number;
  nonce?: Uint8Array;
}

/** The auth headers for a request, signed with the user's Ed25519 identity half (§13.3). */
export async function signHeaders(
  user: TestUser,
  r: { method: string; path: string; body?: string; relayKey: Uint8Array } & Omit<
    SignOptions,
    "relayKey"
  >,
): Promise<Record<string, string>> {
  const name = r.as ?? user.name;
  const time = r.time ?? Date.now();
  const nonce = r.nonce ?? randomBytes(NONCE_LENGTH);
  const signed = requestBody({
    method: r.method,
    path: r.path,
    name,
    time,
    nonce,
    body: utf8(r.body ?? ""),
    relayKey: r.relayKey,
  });
  const signature = await ed25519.sign(user.edSeed, Context.request, signed);
  return {
    [Header.user]: name,
    [Header.time]: String(time),
    [Header.nonce]: base64url.encode(nonce),
    [Header.signature]: base64url.encode(signature),
  };
}

/** The relay key a client pins on first use: from GET /v1/info. */
export async function infoRelayKey(app: App): Promise<Uint8Array> {
  const info = (await (await app.request("/v1/info")).json()) as { keys: { ed25519: string } };
  return base64url.decode(info.keys.ed25519);
}

/** Sends a request signed by `user`; an object body is sent as JSON. */
export async function signedRequest(
  app: App,
  user: TestUser,
  method: string,
  path: string,
  body?: unknown,
  opts: SignOptions = {},
): Promise<Response> {
  const text =
    body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  const relayKey = opts.relayKey ?? (await infoRelayKey(app));
  const headers = await signHeaders(user, {
    ...opts,
    method,
    path,
    relayKey,
    ...(text === undefined ? {} : { body: text }),
  });
  if (text !== undefined) headers["content-type"] = "application/json";
  return app.request(path, { method, headers, ...(text === undefined ? {} : { body: text }) });
}

/** The error code of a JSON error response. */
export async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as { error?: { code?: string } };
  return body.error?.code ?? "(no error)";
}

/** True if the checkpoint carries the relay's hybrid signature. */
export function checkpointVerifies(hybridPublic: Uint8Array, cp: Checkpoint): Promise<boolean> {
  return verifyHybrid(
    hybridPublic,
    Context.checkpoint,
    checkpointBody({ size: cp.size, root: base64url.decode(cp.root), at: cp.at }),
    base64url.decode(cp.signature),
  );
}

/** True if a stored message's receipt leaf is at `index` under the checkpoint's root. */
export function messageIncluded(
  m: { id: string; at: number; index: number; envelope: string; proof: string[] },
  to: string,
  cp: Checkpoint,
): boolean {
  const leaf = receiptBody({
    id: base64url.decode(m.id),
    to,
    envelopeHash: sha256(base64url.decode(m.envelope)),
    at: m.at,
  });
  return merkle.verifyInclusion(
    merkle.leafHash(leaf),
    m.index,
    cp.size,
    m.proof.map(base64url.decode),
    base64url.decode(cp.root),
  );
}

export async function expectError(res: Response | Promise<Response>, status: number, code: string) {
  const r = await res;
  expect({ status: r.status, code: await errorCode(r) }).toEqual({ status, code });
}

/** A relay with these users registered. */
export async function relayWithUsers(users: TestUser[], ...args: Parameters<typeof makeRelay>) {
  const relay = await makeRelay(...args);
  for (const u of users) expect((await register(relay.app, u.name, u.bundle)).status).toBe(201);
  return relay;
}
