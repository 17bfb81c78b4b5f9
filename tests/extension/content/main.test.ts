// @vitest-environment happy-dom
/**
 * The content script (extension/content/main.ts) against a hostile page. In Chrome, a page's
 * elements are named properties of the window in the content script's isolated world too
 * (`<div id="x">` makes `window.x` that element), so a flag kept on the global object must
 * not be read for its truthiness. happy-dom has no named access, so the test sets the
 * property to the element as Chrome would.
 */
import { expect, it } from "vitest";
import { armor } from "../../../protocol/armor.js";

it("is not switched off by a page element named like its load flag (DOM clobbering)", async () => {
  document.body.innerHTML = '<div id="__secureMsgContent"></div><p id="m"></p>';
  const m = document.getElementById("m") as HTMLElement;
  m.textContent = `Hi,\n${armor("MESSAGE", new Uint8Array(48).fill(7))}`;
  const clobber = document.getElementById("__secureMsgContent");
  (globalThis as Record<string, unknown>).__secureMsgContent = clobber;
  await import("../../../extension/content/main.js");
  expect(document.querySelector("[data-secure-msg=decrypt]")).not.toBe(null);
});

it("reads each container once per flush when a page adds thousands of BEGIN lines", async () => {
  // A pathological page: a large body, then 2000 BEGIN lines without their END, added one
  // node at a time (2000 mutation records, one flush). Read per added node, the body's
  // 2 MB of text would be walked 2000 times (4 G characters); once per flush, it is one.
  const filler = document.createElement("pre");
  filler.textContent = "x".repeat(2 * 1024 * 1024);
  document.body.append(filler);
  const box = document.createElement("section");
  document.body.append(box);
  await new Promise((r) => setTimeout(r, 300));
  const started = performance.now();
  for (let i = 0; i < 2000; i++) {
    const div = document.createElement("div");
    div.textContent = "-----BEGIN SECURE-MSG MESSAGE-----";
    box.append(div);
  }
  await new Promise((r) => setTimeout(r, 300)); // the flush (250 ms) runs first
  expect(performance.now() - started).toBeLessThan(8_000);
  expect(box.querySelector("[data-secure-msg=decrypt]")).toBe(null);
}, 60_000);
