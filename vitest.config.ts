import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests share one Docker engine and one 2-core machine: run files one after another.
    fileParallelism: false,
    testTimeout: 20_000,
    hookTimeout: 600_000,
    reporters: ['default'],
  },
});
