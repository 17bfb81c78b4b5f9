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

/** A container's text (`lineText`), where each text node starts in it, and its blocks. */
export interface Lines {
  text: string;
  at: Map<Text, number>;
  /** Whether `text` holds an END line at all: looked for once per container. */
  hasEnd?: boolean;
  blocks?: { start: number; armor: string }[];
}

/**
 * Reads `root` as `lineText` does, remembering where each text node starts. The walk is
 * iterative, so a page's deeply nested DOM cannot overflow the stack.
 */
export function readLines(root: Element): Lines {
  const parts: string[] = [];
  const at = new Map<Text, number>();
  let length = 0;
  const push = (s: string) => {
    parts.push(s);
    length += s.length;
  };
  const stack: (Node | "\n")[] = [root];
  while (stack.length > 0 && length <= MAX_TEXT) {
    const n = stack.pop() as Node | "\n";
    if (n === "\n") {
      push(n);
      continue;
    }
    if (n.nodeType === Node.TEXT_NODE) {
      at.set(n as Text, length);
      push((n as Text).data);
      continue;
    }
    if (!(n instanceof Element) || SKIP.has(n.tagName)) continue;
    if (n.tagName === "BR") {
      push("\n");
      continue;
    }
    if (BLOCKS.has(n.tagName)) {
      push("\n");
      stack.push("\n");
    }
    for (let c = n.lastChild; c; c = c.previousSibling) stack.push(c);
  }
  return { text: parts.join(""), at };
}

/** The text of `root` with <br> and block elements as line breaks. */
export function lineText(root: Element): string {
  return readLines(root).text;
}

/** The blocks already given a control, per container, so a re-scan adds none twice. */
const handled = new WeakMap<Element, Set<string>>();

/**
 * The blocks (in order of `start`, as `blocksIn` gives them) that start in [from, to): a
 * binary search, so a container with many blocks costs a page log(n) per BEGIN line,
 * not n (a page of tens of thousands of small blocks would otherwise freeze the tab).
 */
function startingIn<B extends { start: number }>(blocks: B[], from: number, to: number): B[] {
  let lo = 0;
  let hi = blocks.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (blocks[mid]!.start < from) lo = mid + 1;
    else hi = mid;
  }
  const out: B[] = [];
  for (let i = lo; i < blocks.length && blocks[i]!.start < to; i++) out.push(blocks[i]!);
  return out;
}

/** Where each MESSAGE block starts in a text read by `lineText`, and its canonical armor. */
function blocksIn(lines: string): { start: number; armor: string }[] {
  // Same length: offsets into `lines` stay valid.
  const text = lines.replace(/\u00a0/g, " ");
  return findArmor(text)
    .filter((b) => b.kind === "MESSAGE")
    .map((b) => ({ start: b.start, armor: canonical(b.text) }));
}

function canonical(block: string): string {
  return block
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .join("\n");
}

/** The MESSAGE blocks in a text read by `lineText`, each with one line per armor line. */
export function armorInLines(lines: string): string[] {
  return blocksIn(lines).map((b) => b.armor);
}

/**
 * The container of the block that starts in `node` and the block's armor, or null if
 * there is none (or it has a control already). Only the block whose BEGIN line is in
 * `node` is taken, never another block of the same container: the control sits by the
 * block it decrypts. `stop(el)` ends the search at elements where no control may go
 * (editable fields, our own controls). `cache` holds the containers read during one
 * scan, so a page with many BEGIN lines costs one read per container, not one per line.
 */
export function splitArmor(
  node: Text,
  stop: (el: Element) => boolean,
  cache: Map<Element, Lines> = new Map(),
): { container: HTMLElement; armor: string } | null {
  let el = node.parentElement;
  for (let depth = 0; el && depth < MAX_DEPTH; depth++, el = el.parentElement) {
    if (stop(el)) return null;
    let lines = cache.get(el);
    if (!lines) {
      lines = readLines(el);
      cache.set(el, lines);
    }
    // Beyond what is read (MAX_TEXT): no container further up holds it either.
    const from = lines.at.get(node);
    if (from === undefined) return null;
    lines.hasEnd ??= lines.text.includes(END_MARK);
    if (!lines.hasEnd) continue;
    lines.blocks ??= blocksIn(lines.text);
    const mine = startingIn(lines.blocks, from, from + node.data.length);
    // This node's block is not whole here: look further up.
    if (mine.length === 0) continue;
    const done = handled.get(el) ?? new Set<string>();
    handled.set(el, done);
    const fresh = mine.find((b) => !done.has(b.armor));
    if (fresh === undefined) return null;
    done.add(fresh.armor);
    return { container: el, armor: fresh.armor };
  }
  return null;
}
