/**
 * Armored blocks split across elements (issue 4, "On web pages"): webmail shows a block
 * as lines separated by <br>, or as one <div> per line, so no single text node holds it.
 * From a text node that holds a BEGIN line, the nearest container whose text, read with
 * <br> and block elements as line breaks (`lineText`), holds a whole block is the block's
 * container. `lineText` reads the DOM, not the layout (unlike `innerText`): the same
 * page gives the same result whatever its CSS. What comes out is armor only (ciphertext), made canonical for the
 * strict parser: non-breaking spaces, indentation and blank lines that a mail client adds
 * between the lines are dropped. The decrypt frame still checks it strictly (dearmor).
 */
import { findArmor } from "../../protocol/armor.js";

export const BEGIN_MARK = "-----BEGIN SECURE-MSG MESSAGE-----";
const END_MARK = "-----END SECURE-MSG MESSAGE-----";
/** How far up from the BEGIN line a container is looked for. */
const MAX_DEPTH = 8;

/** Elements that start a new line (HTML's block-level elements most used for text). */
const BLOCKS = new Set(
  "ADDRESS ARTICLE ASIDE BLOCKQUOTE DD DIV DL DT FIGURE FOOTER FORM H1 H2 H3 H4 H5 H6 HEADER HR LI MAIN NAV OL P PRE SECTION TABLE TD TH TR UL".split(
    " ",
  ),
);
/** Never text of the page: no armor is looked for in these. */
const SKIP = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "TEXTAREA", "TITLE"]);
/** A container with more text than the largest armor (4 MiB of base64) holds no block. */
const MAX_TEXT = 6 * 1024 * 1024;

/** The text of `root` with <br> and block elements as line breaks. */
export function lineText(root: Element): string {
  const parts: string[] = [];
  let length = 0;
  const walk = (n: Node): void => {
    if (length > MAX_TEXT) return;
    if (n.nodeType === Node.TEXT_NODE) {
      const data = (n as Text).data;
      parts.push(data);
      length += data.length;
      return;
    }
    if (!(n instanceof Element) || SKIP.has(n.tagName)) return;
    if (n.tagName === "BR") {
      parts.push("\n");
      return;
    }
    const block = BLOCKS.has(n.tagName);
    if (block) parts.push("\n");
    for (let c = n.firstChild; c; c = c.nextSibling) walk(c);
    if (block) parts.push("\n");
  };
  walk(root);
  return parts.join("");
}

/** The blocks already given a control, per container, so a re-scan adds none twice. */
const handled = new WeakMap<Element, Set<string>>();

/** The MESSAGE blocks in a text read by `lineText`, each with one line per armor line. */
export function armorInLines(lines: string): string[] {
  const text = lines.replace(/\u00a0/g, " ");
  return findArmor(text)
    .filter((b) => b.kind === "MESSAGE")
    .map((b) =>
      b.text
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line.length > 0)
        .join("\n"),
    );
}

/**
 * The container of the block that starts in `node` and the block's armor, or null if
 * there is none (or it has a control already). `stop(el)` ends the search at elements
 * where no control may go (editable fields, our own controls).
 */
export function splitArmor(
  node: Text,
  stop: (el: Element) => boolean,
): { container: HTMLElement; armor: string } | null {
  let el = node.parentElement;
  for (let depth = 0; el && depth < MAX_DEPTH; depth++, el = el.parentElement) {
    if (stop(el)) return null;
    const text = lineText(el);
    if (!text.includes(END_MARK)) continue;
    const blocks = armorInLines(text);
    if (blocks.length === 0) continue;
    const done = handled.get(el) ?? new Set<string>();
    handled.set(el, done);
    const fresh = blocks.find((b) => !done.has(b));
    if (fresh === undefined) return null;
    done.add(fresh);
    return { container: el, armor: fresh };
  }
  return null;
}
