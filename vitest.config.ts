import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    globalSetup: ["tests/cli/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
