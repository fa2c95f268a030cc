import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests open pseudo-terminals and spawn boards; on a 2-core machine one file at a time is steadier.
    fileParallelism: false,
  },
});
