import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import type { Test } from 'tap'

/** Debian's chromium (`.ci/run` installs it); CHROMIUM names another build. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'

/**
 * Headless Chromium with a fresh profile, nothing reached but the server under test, closed
 * at the end of the test. `locale` is what navigator.language says (the console's language).
 */
export async function openBrowser (t: Test, locale = 'en-US'): Promise<BrowserContext> {
  const profile = await mkdtemp(join(tmpdir(), 'iupdate-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    locale,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  context.setDefaultTimeout(15_000)
  t.teardown(async () => {
    await context.close()
    await rm(profile, { recursive: true, force: true })
  })
  return context
}

/** Signs in on the console's sign-in page with an admin token, and waits for the console. */
export async function signIn (page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/admin/`)
  await page.getByLabel(/Admin token|Διακριτικό διαχειριστή/).fill(token)
  await page.getByRole('button', { name: /^(Sign in|Σύνδεση)$/ }).click()
  await page.getByRole('navigation').waitFor()
}

/** Fails the test on an error in the page's scripts. */
export function watchErrors (t: Test, page: Page): void {
  page.on('pageerror', (err) => { t.fail(`page error: ${err.message}`) })
}
