// The web client's budget benchmark (web/bench/budgets.bench.ts): a measuring script run
// with Playwright's runner against a real `hearth` (e2e/server.ts) in Debian's Chromium. It
// asserts nothing about time; it prints the figures and writes them to
// test-results/budgets.json (BENCHMARKS.md "Web client budgets" has real runs).
//
//   npm run bench:budgets                      # full scale (10,000 messages, 50 × 100 channels)
//   BUDGET_SCALE=tiny npm run bench:budgets    # a quick run (CI keeps the script working)
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  testMatch: '*.bench.ts',
  timeout: 30 * 60_000,
  expect: { timeout: 60_000 },
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: '../test-results/bench',
  use: {
    headless: true,
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
    },
  },
});
