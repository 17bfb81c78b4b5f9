/**
 * Settings in `storage.local`: only what is not secret (auto-lock minutes, the relay
 * offered at onboarding, that relay's public fingerprint). Stored values are checked on
 * the way in and again on the way out, and anything unusable falls back to the default.
 */
import { fail } from "../../protocol/errors.js";
import { checkRelayUrl } from "../../protocol/identity.js";
import type { Settings } from "../shared/messages.js";
import type { StorageArea } from "./browser.js";

const KEY = "settings";
export const DEFAULT_RELAY = "http://127.0.0.1:8787";
export const DEFAULT_SETTINGS: Settings = { autoLockMinutes: 15, relay: DEFAULT_RELAY };
/** From one minute to one day. */
export const AUTO_LOCK_MINUTES = { min: 1, max: 24 * 60 } as const;

function checkMinutes(m: unknown): number {
  if (
    !Number.isInteger(m) ||
    (m as number) < AUTO_LOCK_MINUTES.min ||
    (m as number) > AUTO_LOCK_MINUTES.max
  )
    fail(
      "INVALID_ARGUMENT",
      `autoLockMinutes must be a whole number from ${AUTO_LOCK_MINUTES.min} to ${AUTO_LOCK_MINUTES.max}`,
    );
  return m as number;
}

function checkRelay(r: unknown): string {
  const url = checkRelayUrl(r);
  if (url === "") fail("INVALID_ARGUMENT", "relay URL must not be empty");
  return url;
}

function valid<T>(check: (v: unknown) => T, v: unknown, fallback: T): T {
  try {
    return check(v);
  } catch {
    return fallback;
  }
}

export async function loadSettings(area: StorageArea): Promise<Settings> {
  const stored = ((await area.get(KEY))[KEY] ?? {}) as Partial<Record<keyof Settings, unknown>>;
  const s: Settings = {
    autoLockMinutes: valid(checkMinutes, stored.autoLockMinutes, DEFAULT_SETTINGS.autoLockMinutes),
    relay: valid(checkRelay, stored.relay, DEFAULT_SETTINGS.relay),
  };
  if (typeof stored.relayFingerprint === "string") s.relayFingerprint = stored.relayFingerprint;
  return s;
}

export async function saveSettings(area: StorageArea, patch: Partial<Settings>): Promise<Settings> {
  const next = { ...(await loadSettings(area)) };
  if (patch.autoLockMinutes !== undefined)
    next.autoLockMinutes = checkMinutes(patch.autoLockMinutes);
  if (patch.relay !== undefined) next.relay = checkRelay(patch.relay);
  if (patch.relayFingerprint !== undefined) next.relayFingerprint = patch.relayFingerprint;
  await area.set({ [KEY]: next });
  return next;
}
