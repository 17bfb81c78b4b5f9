// @vitest-environment happy-dom
/**
 * The secure compose frame (extension/frames/compose.ts) encrypts only for a contact the
 * user picked in the frame: none is preselected, so a page covering part of the frame
 * cannot have the text go to a default recipient the user never chose.
 */
import { expect, it, vi } from "vitest";

it("preselects no contact, and sends nothing until the user picks one", async () => {
  const sent: { type: string; to?: string }[] = [];
  const sendMessage = vi.fn(async (req: { type: string; to?: string }) => {
    sent.push(req);
    const value =
      req.type === "insertion"
        ? { mode: "compose", singleLine: false, site: "https://mail.example" }
        : req.type === "state"
          ? { status: "unlocked", name: "alice", address: "alice", relay: "", fingerprint: "" }
          : req.type === "contacts"
            ? [
                { address: "carol", name: "carol", verified: true },
                { address: "bob", name: "bob", verified: true },
              ]
            : null;
    return { ok: true, value };
  });
  const onChanged: ((changes: Record<string, { newValue?: unknown }>, area: string) => void)[] = [];
  (globalThis as Record<string, unknown>).chrome = {
    runtime: { sendMessage },
    storage: { onChanged: { addListener: (l: (typeof onChanged)[number]) => onChanged.push(l) } },
  };
  location.hash = "#AAAAAAAAAAAAAAAAAAAAAA";
  document.body.innerHTML = '<main id="out"></main>';
  await import("../../../extension/frames/compose.js");
  await vi.waitFor(() => expect(document.querySelector("form")).not.toBe(null));
  const to = document.querySelector("select") as HTMLSelectElement;
  const text = document.querySelector("textarea") as HTMLTextAreaElement;
  const form = document.querySelector("form") as HTMLFormElement;
  expect(to.value).toBe("");
  text.value = "for bob only";
  form.dispatchEvent(new Event("submit", { cancelable: true }));
  await new Promise((r) => setTimeout(r, 20));
  expect(sent.some((r) => r.type === "composeInsert")).toBe(false);
  expect(document.querySelector("[role=alert]")?.textContent).toMatch(/Choose the contact/);

  to.value = "bob";
  form.dispatchEvent(new Event("submit", { cancelable: true }));
  await vi.waitFor(() => expect(sent.at(-1)).toMatchObject({ type: "composeInsert", to: "bob" }));

  // The worker locks (the DEK leaves storage.session): the draft leaves the screen, and
  // the form comes back empty once the account is unlocked again.
  text.value = "a draft nobody may read after the lock";
  for (const l of onChanged) l({ dek: { newValue: undefined } }, "session");
  expect(text.value).toBe("");
  expect(document.body.textContent).toMatch(/SECURE-MSG is locked/);
  expect(document.body.textContent).not.toContain("a draft nobody may read");
  await vi.waitFor(() => expect(document.querySelector("textarea")).not.toBe(null), {
    timeout: 3000,
  });
  expect((document.querySelector("textarea") as HTMLTextAreaElement).value).toBe("");
});
