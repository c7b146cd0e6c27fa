import { defineConfig } from 'vitest/config';

const processSuites = ['test/multinode/**/*.test.ts', 'test/e2e/**/*.test.ts'];

// biome-ignore lint/style/noDefaultExport: vitest loads its config from the default export.
export default defineConfig({
  test: {
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'in-process',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: processSuites,
          testTimeout: 30_000,
        },
      },
      {
        // Suites that start server processes (and stop, kill and restart them): a loaded 2-core
        // machine can make one take several times its usual 5-10 s; the waits inside each test
        // carry its real deadlines.
        extends: true,
        test: { name: 'processes', include: processSuites, testTimeout: 120_000 },
      },
    ],
  },
});
