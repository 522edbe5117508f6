/**
 * Debian's chromium through playwright-core for browser tests (issue 13):
 * headless, fake microphone and camera granted without a prompt, loopback ICE
 * candidates allowed (WebRTC drops them otherwise). playwright-core gives each
 * launch a fresh profile of its own (it refuses `--user-data-dir` in `args`).
 */
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      '--allow-loopback-in-peer-connection',
      '--disable-background-networking',
      '--no-first-run',
    ],
  });
}
