/** A fake `Api` for popup tests: every request is a `vi.fn`, with plausible answers. */
import { vi } from "vitest";
import type { Api } from "../../../extension/popup/api.js";
import type { UnlockedState } from "../../../extension/shared/messages.js";
import { REQUEST_TYPES } from "../../../extension/shared/messages.js";

export const ALICE: UnlockedState = {
  status: "unlocked",
  name: "alice",
  address: "alice@127.0.0.1",
  relay: "http://127.0.0.1:8080",
  fingerprint: "AAAA BBBB CCCC DDDD",
};

export type FakeApi = { [K in keyof Api]: Api[K] & ReturnType<typeof vi.fn> };

export function fakeApi(overrides: Partial<Record<keyof Api, (...a: never[]) => unknown>> = {}) {
  const defaults: Partial<Record<keyof Api, (...a: never[]) => unknown>> = {
    state: async () => ({ status: "none" }),
    settings: async () => ({ autoLockMinutes: 15, relay: "http://127.0.0.1:8080" }),
    conversations: async () => [],
    contacts: async () => [],
    lock: async () => ({ status: "locked" }),
  };
  const entries = REQUEST_TYPES.map((t) => [
    t,
    vi.fn(overrides[t] ?? defaults[t] ?? (async () => undefined)),
  ]);
  return Object.fromEntries(entries) as unknown as FakeApi;
}
