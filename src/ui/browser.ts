import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

/**
 * Headless Chromium for `eval --video` and the browser tests, driven by playwright-core (which
 * brings no browser of its own): the system's chromium, a fresh profile each time, nothing that
 * talks to the network on its own.
 */
export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

export const CHROMIUM_HOW_TO = 'install Chromium (Debian/Ubuntu: `sudo apt install chromium`; Fedora: `sudo dnf install chromium`) or name a Chromium or Chrome binary with SACBRIDGE_CHROMIUM=PATH (docs/ui.md)';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-swiftshader'];

/** The Chromium binary to use, or null when there is none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  const named = env.SACBRIDGE_CHROMIUM;
  if (named !== undefined && named !== '') return existsSync(named) ? named : null;
  return CHROMIUM_CANDIDATES.find((p) => existsSync(p)) ?? null;
}

export interface HeadlessBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Launch headless Chromium with a fresh --user-data-dir, removed again by close(). */
export async function launchChromium(options: { width: number; height: number }): Promise<HeadlessBrowser> {
  const executablePath = findChromium();
  if (executablePath === null) throw new Error(`no Chromium found (looked for ${process.env.SACBRIDGE_CHROMIUM || CHROMIUM_CANDIDATES.join(', ')}): ${CHROMIUM_HOW_TO}`);
  let playwright: typeof import('playwright-core');
  try {
    playwright = await import('playwright-core');
  } catch {
    throw new Error("the playwright-core package is not installed (it is a dependency of sacbridge: run 'npm install' in the package)");
  }
  const profile = mkdtempSync(join(tmpdir(), 'sacbridge-chromium-'));
  try {
    const context = await playwright.chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: FLAGS,
      viewport: { width: options.width, height: options.height },
    });
    return {
      context,
      close: async () => {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}
