// Test plumbing: a Seatline release binary on a random port over a fresh
// SQLite file, and Debian's Chromium driven by playwright-core.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const resultsDir = join(webDir, 'test-results');
const binary = process.env.SEATLINE_BIN ?? resolve(webDir, '../target/release/seatline');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/**
 * Starts the server with `env` on 127.0.0.1:0 and resolves once it logs
 * the URL it listens on.
 */
export async function startServer(env = {}) {
  if (!existsSync(binary)) {
    throw new Error(`${binary} is missing: run \`cargo build --release\` in the repository root first`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'seatline-web-'));
  const child = spawn(binary, ['serve'], {
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${join(dir, 'seatline.db')}?mode=rwc`,
      SEATLINE_ADDR: '127.0.0.1:0',
      SEATLINE_DEMO_DATA: 'true',
      RUST_LOG: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const url = await new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 20 s:\n${log}`)), 20_000);
    const onData = (chunk) => {
      log += chunk.toString().replace(ANSI, '');
      const match = log.match(/listening on (http:\/\/[\d.]+:\d+)/);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${log}`));
    });
  });
  return {
    url,
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function launchBrowser() {
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: install Debian's chromium (apt-get install chromium)`);
  }
  // Playwright gives every launch a fresh, empty profile directory.
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1024, height: 768 };

/**
 * A page in its own browser context (its own storage: one user), which
 * records every console error and uncaught exception in `page.problems`.
 */
export async function openPage(browser, baseURL, viewport) {
  const context = await browser.newContext({ baseURL, viewport, deviceScaleFactor: 1, reducedMotion: 'reduce' });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.problems = problems;
  return page;
}

/** Waits until `page` shows the screen `name` (its `data-screen`). */
export async function onScreen(page, name, timeout = 5_000) {
  await page.locator(`[data-screen="${name}"]`).waitFor({ timeout });
}

export async function screenshot(page, name) {
  mkdirSync(resultsDir, { recursive: true });
  await page.screenshot({ path: join(resultsDir, `${name}.png`), fullPage: true });
}
