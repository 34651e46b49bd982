import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: two test files at a time; each file has its own database, Redis prefix and temp dir.
    maxWorkers: 2,
    pool: 'forks',
  },
});
