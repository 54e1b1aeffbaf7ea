import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Refuses a dist/ built from other sources (the tests run the compiled CLI and lab programs).
    globalSetup: ['test/dist-fresh.ts'],
    // Integration tests share one Docker engine and one 2-core machine: run files one after another.
    fileParallelism: false,
    testTimeout: 20_000,
    hookTimeout: 600_000,
    // The JSON report lets .ci/run print the plain "N passed, N failed" closing line.
    reporters: ['default', ['json', { outputFile: '.cache/test-results.json' }]],
  },
});
