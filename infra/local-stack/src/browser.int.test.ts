import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findChromium, launchChromium } from './browser.js';
import { MissingPrerequisiteError } from './prerequisites.js';

describe('headless Chromium (installed by `bluelight stack prepare --browser`)', () => {
  it('prints a page to an A4 PDF and reads its title back', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.setContent('<title>Attendance 2023/24</title><h1>Within 10 minutes: 74.2%</h1>');
      expect(await page.title()).toBe('Attendance 2023/24');
      expect(await page.$eval('h1', (h) => h.textContent)).toBe('Within 10 minutes: 74.2%');
      const pdf = Buffer.from(await page.pdf({ format: 'A4' }));
      expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    } finally {
      await browser.close();
    }
  });
});

describe('findChromium', () => {
  it('prefers BLUELIGHT_CHROMIUM and refuses one that cannot run, naming it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'chromium-'));
    const notExecutable = path.join(dir, 'chrome');
    writeFileSync(notExecutable, '');
    expect(() => findChromium({ BLUELIGHT_CHROMIUM: notExecutable, PATH: '' })).toThrow(
      new MissingPrerequisiteError(
        `BLUELIGHT_CHROMIUM is ${notExecutable}, which is not an executable file; install Debian's chromium (\`apt-get install chromium\`) or set BLUELIGHT_CHROMIUM to a Chromium or Chrome executable, then run \`bluelight stack prepare --browser\`.`,
      ),
    );
    chmodSync(notExecutable, 0o755);
    expect(findChromium({ BLUELIGHT_CHROMIUM: notExecutable, PATH: '' })).toBe(notExecutable);
  });

  it('looks along PATH for the names Debian and Google install it under', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'chromium-path-'));
    const browser = path.join(dir, 'chromium-browser');
    writeFileSync(browser, '#!/bin/sh\n');
    chmodSync(browser, 0o755);
    expect(findChromium({ PATH: `/nonexistent${path.delimiter}${dir}` })).toBe(browser);
    expect(findChromium({ PATH: '/nonexistent' })).toBeUndefined();
  });
});
