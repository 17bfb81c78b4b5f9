/**
 * Functions the worker injects into a page with `scripting.executeScript` (in the
 * extension's isolated world of one frame) to read and replace an editable selection and
 * to show the secure compose frame. `executeScript` sends each function's source text, so
 * every function here is self-contained: no imports, no outer variables, literals only.
 *
 * What a target is: the focused field (textarea, single-line text input, contenteditable)
 * and the selection in it when the user chose "Encrypt selection for…" or "Secure
 * compose…". It is kept in the isolated world's global object, which the page's scripts
 * cannot see, under the insertion's id; the page already has this text. Nothing here
 * sends anything but the results below back to the worker; `takeSelection` returns the
 * selected text (the page's own text) to the worker, which encrypts it.
 *
 * Before replacing, the target is checked again: the same element, still in the page, the
 * same selected text at the same place. If the page changed it meanwhile, nothing is
 * written (PAGE_CHANGED): the armor never lands somewhere the user did not choose.
 */

export type MarkResult =
  | { ok: true; singleLine: boolean; empty: boolean; focused: boolean; site: string }
  | { ok: false; reason: "NO_FIELD" };

export type TakeResult = { ok: true; text: string } | { ok: false; reason: "PAGE_CHANGED" };
export type InsertResult = { ok: true } | { ok: false; reason: "PAGE_CHANGED" };

/** Finds the focused editable field and remembers it and its selection under `id`. */
export function markTarget(id: string): MarkResult {
  let el: Element | null = document.activeElement;
  // Follow focus into open shadow roots (web components); closed ones hide their fields.
  while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
  const store = globalThis as unknown as Record<string, unknown>;
  delete store.__secureMsgTarget;
  const focused = document.hasFocus();
  const site = location.origin;
  // Password, e-mail and number inputs are not for messages (and have no selection API).
  const TEXT_INPUTS = ["text", "search", "url", "tel"];
  if (
    el instanceof HTMLTextAreaElement ||
    (el instanceof HTMLInputElement && TEXT_INPUTS.includes(el.type))
  ) {
    const field = el as HTMLTextAreaElement | HTMLInputElement;
    if (field.readOnly || field.disabled || field.selectionStart === null) {
      return { ok: false, reason: "NO_FIELD" };
    }
    const start = field.selectionStart;
    const end = field.selectionEnd ?? start;
    const text = field.value.slice(start, end);
    const singleLine = field instanceof HTMLInputElement;
    store.__secureMsgTarget = { id, el: field, start, end, text, singleLine };
    return { ok: true, singleLine, empty: text.length === 0, focused, site };
  }
  if (el instanceof HTMLElement && el.isContentEditable) {
    const sel = window.getSelection();
    let range: Range | null = null;
    if (sel && sel.rangeCount > 0) {
      const r = sel.getRangeAt(0);
      if (el.contains(r.commonAncestorContainer)) range = r.cloneRange();
    }
    if (!range) {
      // A caret at the end of the field.
      range = document.createRange();
      range.selectNodeContents(el);
      range.collapse(false);
    }
    // The selection's rendered text (line breaks for <br> and blocks), what the user sees.
    const text = range.collapsed ? "" : (sel?.toString() ?? range.toString());
    store.__secureMsgTarget = {
      id,
      el,
      range,
      rangeText: range.toString(),
      text,
      singleLine: false,
    };
    return { ok: true, singleLine: false, empty: text.length === 0, focused, site };
  }
  return { ok: false, reason: "NO_FIELD" };
}

/** The text of the target marked under `id`, if the page has not changed it since. */
export function takeSelection(id: string): TakeResult {
  const store = globalThis as unknown as Record<string, unknown>;
  const t = store.__secureMsgTarget as
    | {
        id: string;
        el: HTMLElement & { value?: string };
        start?: number;
        end?: number;
        range?: Range;
        rangeText?: string;
        text: string;
      }
    | undefined;
  if (!t || t.id !== id || !t.el.isConnected) return { ok: false, reason: "PAGE_CHANGED" };
  const now =
    t.range !== undefined
      ? t.range.toString() === t.rangeText
      : (t.el.value ?? "").slice(t.start, t.end) === t.text;
  return now ? { ok: true, text: t.text } : { ok: false, reason: "PAGE_CHANGED" };
}

/**
 * Replaces the target marked under `id` with `armor`, and tells the page's scripts with
 * input events (frameworks such as React listen to them), then forgets the target and
 * removes the compose frame if one is open.
 */
export function insertArmor(id: string, armor: string): InsertResult {
  const store = globalThis as unknown as Record<string, unknown>;
  const t = store.__secureMsgTarget as
    | {
        id: string;
        el: HTMLElement;
        start?: number;
        end?: number;
        range?: Range;
        rangeText?: string;
        text: string;
      }
    | undefined;
  if (!t || t.id !== id || !t.el.isConnected) return { ok: false, reason: "PAGE_CHANGED" };
  const el = t.el;
  if (el instanceof HTMLTextAreaElement || el instanceof HTMLInputElement) {
    if (el.value.slice(t.start, t.end) !== t.text) return { ok: false, reason: "PAGE_CHANGED" };
    // setRangeText bypasses the value setter, so React's value tracker sees the change.
    el.setRangeText(armor, t.start ?? 0, t.end ?? 0, "end");
    el.dispatchEvent(
      new InputEvent("input", { bubbles: true, inputType: "insertReplacementText", data: armor }),
    );
    el.dispatchEvent(new Event("change", { bubbles: true }));
  } else {
    const range = t.range;
    if (!range || range.toString() !== t.rangeText) return { ok: false, reason: "PAGE_CHANGED" };
    // Rich editors keep their own model and follow the browser's editing commands, so try
    // insertText on the restored selection first; fall back to plain DOM nodes.
    el.focus();
    const sel = window.getSelection();
    sel?.removeAllRanges();
    sel?.addRange(range);
    const probe = armor.split("\n")[1] ?? armor;
    const done =
      document.activeElement === el &&
      typeof document.execCommand === "function" &&
      document.execCommand("insertText", false, armor) &&
      (el.textContent ?? "").includes(probe);
    if (!done) {
      range.deleteContents();
      const frag = document.createDocumentFragment();
      const lines = armor.replace(/\n$/, "").split("\n");
      lines.forEach((line, i) => {
        if (i > 0) frag.append(document.createElement("br"));
        frag.append(document.createTextNode(line));
      });
      range.insertNode(frag);
      el.dispatchEvent(
        new InputEvent("input", { bubbles: true, inputType: "insertReplacementText" }),
      );
    }
  }
  delete store.__secureMsgTarget;
  const host = store.__secureMsgCompose as HTMLElement | undefined;
  host?.remove();
  delete store.__secureMsgCompose;
  return { ok: true };
}

/**
 * Shows the secure compose frame (an extension page, `url`) below the marked field, in a
 * closed shadow root so the page can neither restyle it nor reach the frame element.
 */
export function openComposeFrame(url: string, title: string): boolean {
  const store = globalThis as unknown as Record<string, unknown>;
  const t = store.__secureMsgTarget as { el: HTMLElement } | undefined;
  if (!t?.el.isConnected) return false;
  (store.__secureMsgCompose as HTMLElement | undefined)?.remove();
  const box = t.el.getBoundingClientRect();
  const width = Math.min(440, document.documentElement.clientWidth - 16);
  const left = Math.max(8, Math.min(box.left, document.documentElement.clientWidth - width - 8));
  // A plain element, never a custom-element name a page could define first and so reach
  // the closed shadow root through the element's internals.
  const host = document.createElement("div");
  host.setAttribute("data-secure-msg", "compose");
  host.setAttribute(
    "style",
    "all: initial; position: absolute; z-index: 2147483647; display: block; " +
      `left: ${left + window.scrollX}px; top: ${box.bottom + window.scrollY + 4}px; ` +
      `width: ${width}px; height: 300px;`,
  );
  const root = host.attachShadow({ mode: "closed" });
  const frame = document.createElement("iframe");
  frame.title = title;
  frame.src = url;
  frame.setAttribute(
    "style",
    "display: block; width: 100%; height: 100%; border: 0; " +
      "box-shadow: 0 4px 18px rgba(0, 0, 0, 0.25); border-radius: 6px;",
  );
  root.append(frame);
  document.documentElement.append(host);
  store.__secureMsgCompose = host;
  frame.focus();
  return true;
}

/** Removes the compose frame and forgets the target (the user cancelled). */
export function closeComposeFrame(): void {
  const store = globalThis as unknown as Record<string, unknown>;
  (store.__secureMsgCompose as HTMLElement | undefined)?.remove();
  delete store.__secureMsgCompose;
  delete store.__secureMsgTarget;
}
