import { defineConfig } from 'vitest/config';

// Tests import the packages by name, so they run against the built `dist/` through each
// package's `exports` map: exactly what a user installs. `npm test` builds first.
export default defineConfig({
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'deploy/**/*.test.ts',
    ],
    reporters: ['default', './test-support/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
