// @vitest-environment happy-dom
/**
 * Blocks split across elements (content/split-armor.ts): lines separated by <br>, or one
 * <div> per line with blank lines between, as webmail shows them. What comes out is the
 * armor only, canonical enough for the strict parser.
 */
import { describe, expect, it } from "vitest";
import {
  armorInLines,
  BEGIN_MARK,
  type Lines,
  lineText,
  splitArmor,
} from "../../../extension/content/split-armor.js";
import { armor, dearmor } from "../../../protocol/armor.js";

const block = armor(
  "MESSAGE",
  new Uint8Array(200).map((_, i) => i),
);
const lines = block.trimEnd().split("\n");

describe("armorInLines", () => {
  it("drops what mail clients add between lines: blank lines, indentation, nbsp", () => {
    const text = `Hi,\n\n${lines.map((l) => `\u00a0 ${l}\u00a0`).join("\n\n")}\n\nBob`;
    const found = armorInLines(text);
    expect(found).toEqual([block.trimEnd()]);
    expect(dearmor(found[0] ?? "").data).toEqual(dearmor(block).data);
  });

  it("finds every block, and only MESSAGE blocks", () => {
    const bundle = armor("BUNDLE", new Uint8Array([1, 2, 3]));
    expect(armorInLines(`${block}\n${bundle}\n${block}`)).toHaveLength(2);
    expect(armorInLines("no armor here")).toEqual([]);
  });
});

describe("lineText", () => {
  it("reads <br> and block elements as line breaks, and skips scripts and styles", () => {
    const div = document.createElement("div");
    div.innerHTML = "a<br>b<div>c</div><p>d<span>e</span></p><script>x</script><style>y</style>f";
    expect(lineText(div).split("\n").filter(Boolean)).toEqual(["a", "b", "c", "de", "f"]);
  });
});

describe("splitArmor", () => {
  function beginNode(root: HTMLElement): Text {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode())
      if ((n as Text).data.includes(BEGIN_MARK)) return n as Text;
    throw new Error("no BEGIN line");
  }

  it("finds the container of a block split by <br>, once", () => {
    document.body.innerHTML = `<div id="mail"><p>Hi</p><div id="c">${lines.join("<br>")}</div></div>`;
    const node = beginNode(document.body);
    const found = splitArmor(node, () => false);
    expect(found?.container.id).toBe("c");
    expect(found?.armor).toBe(block.trimEnd());
    // A second scan of the same block adds nothing.
    expect(splitArmor(node, () => false)).toBe(null);
  });

  it("finds a block with one <div> per line", () => {
    document.body.innerHTML = `<section id="c">${lines.map((l) => `<div>${l}</div>`).join("")}</section>`;
    const found = splitArmor(beginNode(document.body), () => false);
    expect(found?.container.id).toBe("c");
    expect(dearmor(found?.armor ?? "").data).toEqual(dearmor(block).data);
  });

  it("gives each of many blocks split by <br> in one container its own armor, once", () => {
    // Distinct small blocks, each split over its lines, all in one container: every
    // BEGIN line finds its own block (binary search by offset), and only once.
    const many = Array.from({ length: 400 }, (_, i) =>
      armor("MESSAGE", Uint8Array.of(i & 0xff, i >> 8, 1, 2, 3, 4)).trimEnd(),
    );
    document.body.innerHTML = `<div id="c">${many.map((b) => b.split("\n").join("<br>")).join("<br>")}</div>`;
    const begins: Text[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode())
      if ((n as Text).data.includes(BEGIN_MARK)) begins.push(n as Text);
    expect(begins).toHaveLength(many.length);
    const cache = new Map<Element, Lines>();
    const found = begins.map((n) => splitArmor(n, () => false, cache)?.armor);
    expect(found).toEqual(many);
    expect(begins.map((n) => splitArmor(n, () => false, cache))).toEqual(many.map(() => null));
  });

  it("stops at elements where no control may go", () => {
    document.body.innerHTML = `<div contenteditable="true" id="c">${lines.join("<br>")}</div>`;
    const found = splitArmor(beginNode(document.body), (el) => el.id === "c");
    expect(found).toBe(null);
  });

  it("takes the block that starts in the node, never another block of its container", () => {
    // A whole block in one text node (it has its own control), then a block split by <br>,
    // in the same container: the split block's control must decrypt the split block.
    const other = armor("MESSAGE", new Uint8Array(64).fill(7));
    document.body.innerHTML = `<div id="c">${other}<br>${lines.join("<br>")}</div>`;
    const begins = Array.from(document.getElementById("c")?.childNodes ?? []).filter(
      (n): n is Text => n.nodeType === 3 && (n as Text).data.startsWith(BEGIN_MARK),
    );
    const split = begins.find((n) => !n.data.includes("END"));
    const found = splitArmor(split as Text, () => false);
    expect(found?.container.id).toBe("c");
    expect(found?.armor).toBe(block.trimEnd());
    expect(dearmor(found?.armor ?? "").data).toEqual(dearmor(block).data);
  });

  it("reads each container once per scan, however many BEGIN lines a page has", () => {
    // A pathological page: thousands of BEGIN lines without their END in one container.
    const n = 3000;
    document.body.innerHTML = `<section id="c">${`<div>${BEGIN_MARK}</div>`.repeat(n)}</section>`;
    const cache = new Map<Element, Lines>();
    const started = performance.now();
    for (const div of Array.from(document.querySelectorAll("#c > div")))
      expect(splitArmor(div.firstChild as Text, () => false, cache)).toBe(null);
    // The <div>s, the section, the body, the html element: each read once.
    expect(cache.size).toBe(n + 3);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it("survives a deeply nested page (no recursion)", () => {
    let html = `${lines.join("<br>")}`;
    for (let i = 0; i < 20_000; i++) html = `<span>${html}</span>`;
    const root = document.createElement("div");
    root.innerHTML = html;
    expect(lineText(root)).toContain(BEGIN_MARK);
  });

  it("finds nothing for a BEGIN line without its END", () => {
    document.body.innerHTML = `<div>${lines.slice(0, -1).join("<br>")}</div>`;
    expect(splitArmor(beginNode(document.body), () => false)).toBe(null);
  });
});
