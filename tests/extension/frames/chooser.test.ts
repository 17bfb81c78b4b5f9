// @vitest-environment happy-dom
/**
 * The chooser window (extension/frames/chooser.ts) shows the text "Encrypt selection for…"
 * will encrypt, as the worker read it from the page, as text (never HTML), before the
 * user picks the contact.
 */
import { expect, it, vi } from "vitest";

const SELECTED = '<img src=x onerror="alert(1)"> pay mallory';

it("shows the selected text to encrypt, as text, with the contacts", async () => {
  const asked: string[] = [];
  const sendMessage = vi.fn(async (req: { type: string }) => {
    asked.push(req.type);
    const value =
      req.type === "insertion"
        ? { mode: "selection", singleLine: false, site: "https://mail.example", text: SELECTED }
        : req.type === "state"
          ? { status: "unlocked", name: "alice", address: "alice", relay: "", fingerprint: "" }
          : [{ address: "bob", name: "bob", verified: true }];
    return { ok: true, value };
  });
  (globalThis as Record<string, unknown>).chrome = { runtime: { sendMessage } };
  location.hash = "#AAAAAAAAAAAAAAAAAAAAAA";
  document.body.innerHTML = '<main id="out"></main>';
  await import("../../../extension/frames/chooser.js");
  await vi.waitFor(() => expect(document.querySelector("ul.contacts")).not.toBe(null));
  const preview = document.querySelector(".preview");
  expect(preview?.textContent).toBe(SELECTED);
  expect(preview?.querySelector("img")).toBe(null);
  expect(asked).toEqual(["insertion", "state", "contacts"]);
});
