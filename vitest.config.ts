import { configDefaults, defineConfig } from "vitest/config";

/**
 * Two projects. "reliability" (tests/reliability: load, crash, hostile input, disk full)
 * saturates the machine on purpose, so it runs after every other test file has finished
 * (groupOrder) and one file at a time: its numbers are its own, and it does not slow or
 * time out the others. The global setup stays at the root, where it runs once per run
 * and provides to every project.
 */
const timeouts = { testTimeout: 60_000, hookTimeout: 60_000 };
const RELIABILITY = "tests/reliability/**";

export default defineConfig({
  test: {
    globalSetup: ["tests/global-setup.ts"],
    projects: [
      {
        test: {
          name: "tests",
          include: ["tests/**/*.test.ts"],
          exclude: [...configDefaults.exclude, RELIABILITY],
          ...timeouts,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "reliability",
          include: [`${RELIABILITY}/*.test.ts`],
          ...timeouts,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
