/**
 * Shared fixtures for the PostgreSQL store tests: stores opened in fresh schemas of this
 * run (tests/pg.ts) and closed, with their schemas dropped, by `cleanUp` in afterAll.
 */
import { expect } from "vitest";
import { StoreUnavailable } from "../../relay/storage/errors.js";
import { type PostgresOptions, PostgresStore } from "../../relay/storage/postgres.js";
import { closeAdmin, dropSchemas, schemaUrl } from "../pg.js";

const stores: PostgresStore[] = [];

/** Opens a store, by default in a new schema of its own. */
export async function open(
  url = schemaUrl(),
  options: PostgresOptions = {},
): Promise<PostgresStore> {
  const s = await PostgresStore.open(url, options);
  stores.push(s);
  return s;
}

/** Closes every store `open` opened and drops this run's schemas. */
export async function cleanUp(): Promise<void> {
  for (const s of stores.splice(0)) await s.close();
  await dropSchemas();
  await closeAdmin();
}

/** Expects `p` to reject with StoreUnavailable; returns it. */
export async function unavailable(p: Promise<unknown>): Promise<StoreUnavailable> {
  const e = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(e).toBeInstanceOf(StoreUnavailable);
  return e as StoreUnavailable;
}

/** Waits until `check()` is true (or fails after `ms`). */
export async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
