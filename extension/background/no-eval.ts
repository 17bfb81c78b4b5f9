/**
 * The extension's CSP forbids eval, and zod probes for it with `new Function` when its
 * first object schema is built; a strict CSP reports even that caught probe as a
 * violation. Imported first by main.ts, so it runs before any schema (ours or protocol/'s)
 * exists.
 */
import { z } from "zod";

z.config({ jitless: true });
