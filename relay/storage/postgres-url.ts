/**
 * The PostgreSQL store's database URL (README "PostgreSQL and several processes"):
 * `postgres://user[:password]@host[:port]/database[?schema=NAME]`. Every table lives in
 * one schema, named by `?schema=NAME` (default `public`); the store creates it if missing
 * and sets each connection's `search_path` to it alone, so several deployments, or several
 * test runs, can share one database. The parameter is removed from the URL before the
 * driver (node-postgres) sees it (PostgreSQL would refuse it as an unknown startup
 * parameter). So is `?options=`, refused here: the driver lets the URL's `options`
 * replace the store's, which set the `search_path` (postgres-connect.ts).
 *
 * No driver here: the CLI checks `--database-url` with these before loading the relay.
 */

/** Lower-case identifiers only: the name is sent as a startup parameter and in a channel name. */
const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,47}$/;

export function checkSchema(schema: string): string {
  if (!SCHEMA_PATTERN.test(schema))
    throw new RangeError(
      "schema must be 1 to 48 lower-case letters, digits or underscores, not starting with a digit",
    );
  return schema;
}

/** Splits `?schema=` off the URL; checks the rest is a PostgreSQL URL. Never echoes the URL. */
export function parseDatabaseUrl(url: string): { url: string; schema?: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError("the database URL is not a URL (postgres://user@host:port/database)");
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:")
    throw new TypeError("the database URL must start with postgres:// or postgresql://");
  const schema = u.searchParams.get("schema") ?? undefined;
  u.searchParams.delete("schema");
  if (u.searchParams.has("search_path") || u.searchParams.has("options"))
    throw new TypeError("use ?schema= rather than ?search_path= or ?options= in the database URL");
  return schema === undefined ? { url: u.href } : { url: u.href, schema };
}
