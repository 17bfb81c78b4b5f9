// @vitest-environment happy-dom
/**
 * The Decrypt control against a page that defines custom elements first (extension/content/
 * main.ts). Had the control's host been an element the page can define (an autonomous
 * custom-element name), the page's constructor would run for it and could keep the
 * element's internals, which expose even a closed shadow root: the button (a scripted
 * click) and the frame's URL. The host is a plain element, which no definition reaches.
 */
import { expect, it } from "vitest";
import { armor } from "../../../protocol/armor.js";

it("never gives the page's custom-element constructors the control's host", async () => {
  const seen: HTMLElement[] = [];
  for (const name of ["secure-msg-decrypt", "secure-msg-control", "secure-msg-host"])
    customElements.define(
      name,
      class extends HTMLElement {
        constructor() {
          super();
          seen.push(this);
        }
      },
    );
  document.body.innerHTML = '<p id="m"></p>';
  const m = document.getElementById("m") as HTMLElement;
  m.textContent = `Hi,\n${armor("MESSAGE", new Uint8Array(48).fill(7))}`;
  await import("../../../extension/content/main.js");
  const host = document.querySelector("[data-secure-msg=decrypt]");
  expect(host).not.toBe(null);
  expect(host!.tagName).toBe("SPAN");
  expect(Object.getPrototypeOf(host)).toBe(HTMLSpanElement.prototype);
  expect(seen).toEqual([]);
  // The closed shadow root is out of the page's reach.
  expect((host as HTMLElement).shadowRoot).toBe(null);
});
