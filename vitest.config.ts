import { defineConfig } from 'vitest/config';

// Two projects: unit tests (pure logic, parallel) and integration tests (real Redis,
// rtpengine and SIPp on fixed loopback addresses, so one file at a time).
export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
