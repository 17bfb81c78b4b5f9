import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const dir = new URL("../../protocol/", import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));

describe("protocol/ is pure", () => {
  it.each(files)("%s imports no node:*, chrome.* or DOM, and no other layer", (f) => {
    const src = readFileSync(new URL(f, dir), "utf8");
    const imports = [...src.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]!);
    for (const spec of imports) {
      expect(spec, `${f} imports ${spec}`).not.toMatch(
        /^node:|^(fs|path|os|crypto|child_process)$/,
      );
      expect(spec, `${f} imports ${spec}`).not.toMatch(/\.\.\/(cli|relay|extension)\//);
    }
    expect(src).not.toMatch(
      /\bchrome\.|\bbrowser\.|\bdocument\.|\bwindow\.|\blocalStorage\b|\bprocess\./,
    );
  });

  it("keeps each module under about 300 lines", () => {
    for (const f of files) {
      const lines = readFileSync(new URL(f, dir), "utf8").split("\n").length;
      // ~300 lines of logic; the facade and the relay client carry long doc comments.
      expect(lines, f).toBeLessThan(400);
    }
  });
});
