// @vitest-environment happy-dom
/**
 * The decrypt frame after a lock (extension/frames/decrypt.ts, shared/lock-signal.ts):
 * when the worker removes the DEK from storage.session (Lock, auto-lock), the plaintext
 * leaves the screen, and only a click in the frame shows it again. Other changes of
 * storage.session, or the DEK being set, leave it alone.
 */
import { expect, it, vi } from "vitest";

type Change = Record<string, { oldValue?: unknown; newValue?: unknown }>;

it("takes the plaintext off the screen when the keys are locked, and shows it again on a click", async () => {
  const asked: string[] = [];
  let locked = false;
  const sendMessage = vi.fn(async (req: { type: string }) => {
    asked.push(req.type);
    if (locked)
      return { ok: false, error: { name: "ProtocolError", code: "LOCKED", message: "locked" } };
    return {
      ok: true,
      value: {
        id: "00",
        peer: "bob",
        direction: "in",
        text: "the secret plaintext",
        at: 0,
        verified: true,
        firstContact: false,
        newContact: false,
        again: false,
      },
    };
  });
  const listeners: ((c: Change, area: string) => void)[] = [];
  (globalThis as Record<string, unknown>).chrome = {
    runtime: { sendMessage },
    storage: { onChanged: { addListener: (l: (typeof listeners)[number]) => listeners.push(l) } },
  };
  const fire = (c: Change, area: string) => {
    for (const l of listeners) l(c, area);
  };
  location.hash = "#armor";
  document.body.innerHTML = '<main id="out"></main>';
  await import("../../../extension/frames/decrypt.js");
  const out = document.getElementById("out")!;
  await vi.waitFor(() => expect(out.textContent).toContain("the secret plaintext"));

  fire({ dek: { newValue: "AAAA" } }, "session"); // an unlock elsewhere
  fire({ dek: { oldValue: "AAAA" } }, "local"); // another area
  fire({ settings: { oldValue: 1 } }, "session"); // another key
  expect(out.textContent).toContain("the secret plaintext");

  locked = true;
  fire({ dek: { oldValue: "AAAA" } }, "session"); // the lock
  expect(out.textContent).not.toContain("the secret plaintext");
  expect(out.textContent).toMatch(/Unlock SECURE-MSG to read this message/);
  expect(asked).toEqual(["decryptArmor"]);

  // Clicked before unlocking: still locked, and the button stays.
  (out.querySelector("button") as HTMLButtonElement).click();
  await vi.waitFor(() => expect(asked).toHaveLength(2));
  await vi.waitFor(() => expect(out.querySelector("button")).not.toBe(null));
  expect(out.textContent).toMatch(/Unlock SECURE-MSG to read this message/);

  locked = false;
  (out.querySelector("button") as HTMLButtonElement).click();
  await vi.waitFor(() => expect(out.textContent).toContain("the secret plaintext"));
  expect(asked).toEqual(["decryptArmor", "decryptArmor", "decryptArmor"]);
  // One watcher, however often the message was shown.
  expect(listeners).toHaveLength(1);
});
