/**
 * The handlers for the page actions (insertions.ts) and site access (sites.ts), spread
 * into the handler map in handlers.ts. Like every request, these are answered only to the
 * extension's own pages (trust.ts): the chooser window, the compose frame and the popup.
 */
import { ExtensionError } from "../shared/errors.js";
import type { RequestType } from "../shared/messages.js";
import type { Context, Handler } from "./handlers.js";
import type { Insertions } from "./insertions.js";
import type { Sites } from "./sites.js";

type PageRequest =
  | "insertion"
  | "encryptSelection"
  | "composeInsert"
  | "cancelInsertion"
  | "openUnlock"
  | "sites"
  | "addSite"
  | "removeSite";

function insertions(ctx: Context): Insertions {
  if (!ctx.insertions) throw new ExtensionError("INTERNAL", "page actions are not wired");
  return ctx.insertions;
}

function sites(ctx: Context): Sites {
  if (!ctx.sites) throw new ExtensionError("INTERNAL", "site access is not wired");
  return ctx.sites;
}

export const pageHandlers = {
  insertion: ({ id }, ctx) => insertions(ctx).info(id),
  encryptSelection: ({ id, to }, ctx) => insertions(ctx).encryptSelection(id, to),
  composeInsert: ({ id, to, text }, ctx) => insertions(ctx).composeInsert(id, to, text),
  cancelInsertion: ({ id }, ctx) => insertions(ctx).cancel(id),
  openUnlock: (_r, ctx) => insertions(ctx).openUnlock(),
  sites: (_r, ctx) => sites(ctx).list(),
  addSite: ({ site }, ctx) => sites(ctx).add(site),
  removeSite: ({ site }, ctx) => sites(ctx).remove(site),
} satisfies { [T in PageRequest & RequestType]: Handler<T> };
