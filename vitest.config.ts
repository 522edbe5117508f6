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
          // One file at a time: suites bind fixed loopback addresses and start real daemons.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
