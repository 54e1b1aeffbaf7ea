import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*.test.ts'],
    // Labs share one Docker engine: one file at a time.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // The JSON report gives the repository's .ci/run its closing line for this suite.
    reporters: ['default', ['json', { outputFile: '.cache/test-results.json' }]],
  },
});
