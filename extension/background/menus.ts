/**
 * The page actions' entry points (issue 4, "On web pages"): two context-menu items on
 * editable fields and the matching keyboard commands (manifest `commands`). A click or a
 * command grants `activeTab` for that tab, which is all `Insertions` needs to reach it.
 */
import { toWire } from "../shared/errors.js";
import type { InsertionInfo } from "../shared/messages.js";
import type { Insertions } from "./insertions.js";

/** Menu item ids, which are also the command names in the manifest. */
export const ACTIONS = {
  "encrypt-selection": { mode: "selection", title: "Encrypt selection for…" },
  "secure-compose": { mode: "compose", title: "Secure compose…" },
} as const satisfies Record<string, { mode: InsertionInfo["mode"]; title: string }>;

type Action = keyof typeof ACTIONS;

function isAction(id: unknown): id is Action {
  return typeof id === "string" && Object.hasOwn(ACTIONS, id);
}

export interface MenusApi {
  removeAll(): Promise<void>;
  create(item: { id: string; title: string; contexts: ["editable"] }): unknown;
}

/**
 * Creates the menu items (at install and browser start; items persist, so old ones go
 * first). Both show on editable fields only: a selection outside a field cannot be
 * replaced, and right-clicking a selection inside one is "editable" too.
 */
export async function createMenus(menus: MenusApi): Promise<void> {
  await menus.removeAll();
  for (const [id, { title }] of Object.entries(ACTIONS))
    menus.create({ id, title, contexts: ["editable"] });
}

/** `contextMenus.onClicked`: the frame is the one the user right-clicked in. */
export async function onMenuClick(
  insertions: Insertions,
  info: { menuItemId: unknown; frameId?: number },
  tab?: { id?: number },
): Promise<void> {
  if (!isAction(info.menuItemId) || tab?.id === undefined || tab.id < 0) return;
  await insertions.start(ACTIONS[info.menuItemId].mode, tab.id, info.frameId ?? 0).catch(report);
}

/** `commands.onCommand`: the focused frame of the active tab. */
export async function onCommand(
  insertions: Insertions,
  command: string,
  tab?: { id?: number },
): Promise<void> {
  if (!isAction(command) || tab?.id === undefined || tab.id < 0) return;
  await insertions.start(ACTIONS[command].mode, tab.id).catch(report);
}

/** A failure with nothing left to show it in (the tab closed meanwhile): its code only. */
function report(e: unknown): void {
  console.error("background: page action failed", toWire(e).code);
}
