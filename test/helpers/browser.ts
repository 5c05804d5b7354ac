/**
 * Headless Chromium for dashboard checks: Debian's browser (installed by `ops/` with the stack)
 * driven through playwright-core, which never downloads one of its own. The flags keep the
 * browser off the network it would otherwise try to reach at start (this machine has none).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env['VIGIL_CHROMIUM'] ?? '/usr/bin/chromium';

/** Where checks leave screenshots (inside the ignored `.vigil/`, next to the stack's data). */
export const ARTIFACTS = join(import.meta.dirname, '..', '..', '.vigil', 'artifacts');

export async function launchBrowser(): Promise<Browser> {
  await mkdir(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
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
