import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Dawn on llvmpipe is CPU-bound: one test file at a time per core keeps timings sane.
    maxWorkers: 2,
    // fit( is our training function, so the linter's focused-test rule (Jasmine's fit) is off; .only fails here instead.
    allowOnly: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
