// Headless Chromium for the printed report (`bluelight report --format pdf`) and for the tests that
// look at pages the way a reader does. Debian's `chromium` package is the browser: it is in the
// package mirror these machines can reach, and puppeteer-core drives any current Chromium over CDP.
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'puppeteer-core';
import type { ProgressReporter } from './downloads.js';
import { MissingPrerequisiteError } from './prerequisites.js';
import { runCommand } from './run-command.js';

/** Names Debian, Ubuntu and Google builds install the browser under, most likely first. */
const BROWSER_NAMES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];

const INSTALL_HINT =
  "install Debian's chromium (`apt-get install chromium`) or set BLUELIGHT_CHROMIUM to a Chromium or Chrome executable, then run `bluelight stack prepare --browser`";

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The Chromium executable to use: BLUELIGHT_CHROMIUM when set, else the first on PATH; undefined when none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const chosen = env.BLUELIGHT_CHROMIUM?.trim();
  if (chosen) {
    if (!isExecutable(chosen)) {
      throw new MissingPrerequisiteError(
        `BLUELIGHT_CHROMIUM is ${chosen}, which is not an executable file; ${INSTALL_HINT}.`,
      );
    }
    return chosen;
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const name of BROWSER_NAMES) {
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

function canInstallWithApt(): boolean {
  return (
    process.platform === 'linux' && process.getuid?.() === 0 && findOnPath('apt-get') !== undefined
  );
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Returns a Chromium executable, installing Debian's package first where none is present and this
 * process may (root, apt-get). Anywhere else it fails with what to install.
 */
export async function ensureChromium(report: ProgressReporter): Promise<string> {
  const found = findChromium();
  if (found) return found;
  if (!canInstallWithApt()) {
    throw new MissingPrerequisiteError(`no Chromium was found on PATH; ${INSTALL_HINT}.`);
  }
  report("browser: installing Debian's chromium (apt-get install chromium); this takes a minute");
  const progress = (line: string) => {
    // apt prints one line per package fetched and unpacked: enough to see it moving.
    if (/^(Get:|Unpacking|Setting up|Fetched|E:)/.test(line)) report(`browser: ${line.trim()}`);
  };
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await runCommand('apt-get', ['update', '-q'], { env, onLine: progress });
  await runCommand('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'chromium'], {
    env,
    onLine: progress,
  });
  const installed = findChromium();
  if (!installed) {
    throw new MissingPrerequisiteError(
      `apt-get installed chromium but no executable appeared on PATH; ${INSTALL_HINT}.`,
    );
  }
  report(`browser: ready (${installed})`);
  return installed;
}

/**
 * Starts headless Chromium. The sandbox is off because these machines run as root, where Chromium
 * refuses to start with it; the browser only ever opens Bluelight's own documents.
 */
export async function launchChromium(options: { executablePath?: string } = {}): Promise<Browser> {
  const executablePath = options.executablePath ?? findChromium();
  if (!executablePath) {
    throw new MissingPrerequisiteError(`no Chromium was found on PATH; ${INSTALL_HINT}.`);
  }
  const { launch } = await import('puppeteer-core');
  return launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--font-render-hinting=none',
    ],
  });
}

/**
 * Prints a self-contained HTML document to PDF in headless Chromium, on the paper its print CSS
 * asks for (`@page`; A4 where it says none), with page numbers in the footer. Any request the
 * document makes beyond itself is refused: a printed report must not depend on the network.
 */
export async function printPdf(
  html: string,
  options: { executablePath?: string } = {},
): Promise<Uint8Array> {
  const browser = await launchChromium(options);
  try {
    const page = await browser.newPage();
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      if (request.url().startsWith('data:') || request.url() === 'about:blank')
        void request.continue();
      else void request.abort();
    });
    await page.setContent(html, { waitUntil: 'load' });
    await page.emulateMediaType('print');
    return await page.pdf({
      format: 'A4',
      preferCSSPageSize: true,
      printBackground: true,
      displayHeaderFooter: true,
      headerTemplate: '<span></span>',
      footerTemplate:
        '<div style="font-size:8px;width:100%;text-align:center;color:#555"><span class="pageNumber"></span> / <span class="totalPages"></span></div>',
    });
  } finally {
    await browser.close();
  }
}
