import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Topic } from '#contracts';
import { ACCESSIBILITY_PROBLEMS } from './support/a11y.js';
import { auth, serviceAuth } from './support/auth.js';
import { count } from './support/db.js';
import { produce } from './support/kafka.js';
import { ROOT, ServiceProcess, startAll, stopAll } from './support/services.js';
import { asRecord, feedKey, testProvider, tick, type TestKey } from './support/ticks.js';
import { waitFor } from './support/wait.js';

jest.setTimeout(240_000);

/** Screenshots are kept as CI artefacts. */
const SHOTS = path.join(ROOT, 'artifacts', 'screenshots');
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

describe('dashboard: the market on screen, live, for each role', () => {
  const market = new ServiceProcess('market-data');
  const engine = new ServiceProcess('matching-engine');
  const billing = new ServiceProcess('billing');
  const gateway = new ServiceProcess('gateway', { BILLING_URL: billing.url });
  const dispatcher = new ServiceProcess('dispatcher', { DISPATCH_PROVIDERS: JSON.stringify({ '*': { adapter: 'simulated', secondsPerGpuHour: 2 } }) });
  const provider = testProvider('screen');
  const instrument = `gpu:screen-${randomUUID().slice(0, 6)}`;
  const customer = `cust-screen-${randomUUID().slice(0, 6)}`;
  let key: TestKey;
  let seq = 0;
  let browser: Browser;

  /** The provider's one offer at `price` (energy included), as it would publish it. */
  async function publish(price: string): Promise<void> {
    seq += 1;
    const now = Date.now();
    const t = tick(provider, seq, { offerId: 'o-1', instrument, region: 'us-east-1', gridZone: 'PJM', price, capacity: '50', energyIncluded: true, validFrom: new Date(now - 60_000).toISOString(), validUntil: new Date(now + 3_600_000).toISOString(), publishedAt: new Date(now).toISOString() });
    await produce(Topic.SpotPrices, [asRecord(t, key)]);
  }

  async function signIn(page: Page, role: 'customer' | 'provider' | 'finance', id: string): Promise<void> {
    await page.goto(gateway.url);
    await page.fill('#api-key', (await auth(role, id)).authorization.slice('Bearer '.length));
    await page.keyboard.press('Enter');
    await page.waitForSelector('[role="tablist"]');
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await startAll([market, engine, billing, gateway, dispatcher]);
    key = await feedKey(provider);
    await publish('2.00');
    await waitFor('the ask', async () => ((await count(`SELECT count(*) AS n FROM matching.offers WHERE provider_id = $1`, [provider])) === 1 ? true : undefined), 60_000);
    const topUp = await fetch(`${billing.url}/v1/customers/${customer}/top-ups`, { method: 'POST', headers: { 'content-type': 'application/json', ...serviceAuth() }, body: JSON.stringify({ amount: '1000', reference: randomUUID() }) });
    expect(topUp.status).toBe(201);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await stopAll([market, engine, billing, gateway, dispatcher]);
  });

  it('signs in with an API key, shows live depth, and follows a job submitted through the API to completion', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(gateway.url);
    // A wrong key is refused on screen, and nothing else is shown.
    await page.fill('#api-key', 'sgk_notakey0_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx');
    await page.keyboard.press('Enter');
    await page.locator('[role="alert"]', { hasText: 'not a live API key' }).waitFor();

    await signIn(page, 'customer', customer);
    await page.waitForSelector(`#instrument option[value="${instrument}"]`, { state: 'attached' });
    await page.selectOption('#instrument', instrument);
    const row = page.locator(`#depth-table tr[data-key="${provider}/o-1"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('$2.0000');
    await page.screenshot({ path: path.join(SHOTS, 'market-depth.png'), fullPage: true });
    // Readable by everyone: AA contrast for every text, a name for every control.
    expect(await page.evaluate(ACCESSIBILITY_PROBLEMS)).toEqual([]);

    // A new price arrives on the stream: the ladder changes without a reload.
    await publish('1.75');
    await page.locator(`#depth-table tr[data-key="${provider}/o-1"]`, { hasText: '$1.7500' }).waitFor();

    // A job submitted through the API appears on the job board and completes there.
    // Keyboard only: the tabs follow the arrow keys.
    await page.locator('#tab-market').focus();
    await page.keyboard.press('ArrowRight');
    await page.waitForSelector('#job-board');
    expect(new URL(page.url()).hash).toBe('#jobs');
    const submitted = await fetch(`${gateway.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID(), ...(await auth('customer', customer)) },
      body: JSON.stringify({ instrument, quantity: '2', limitPrice: '3', deadline: new Date(Date.now() + 3_600_000).toISOString(), runtimeSeconds: 60, deferrable: false, work: { type: 'gpu-hours', hours: '2' } }),
    });
    expect(submitted.status).toBe(201);
    const job = (await submitted.json()) as { id: string };
    const jobRow = `#job-board tr[data-key="${job.id}"]`;
    await page.waitForSelector(jobRow, { timeout: 30_000 });
    await page.screenshot({ path: path.join(SHOTS, 'job-board-live.png'), fullPage: true });
    await page.locator(jobRow, { hasText: 'completed' }).waitFor({ timeout: 90_000 });
    // What it paid follows once the savings are read again (they change only when a job completes).
    await page.locator(jobRow, { hasText: '$3.5000' }).waitFor({ timeout: 15_000 });
    // It paid $1.75 × 2 = $3.50; the only offer is also both baselines, so it saved nothing against them.
    const text = (await page.locator(jobRow).textContent()) ?? '';
    expect(text).toContain('2 / 2');
    expect(text).toContain('$3.5000');
    await page.screenshot({ path: path.join(SHOTS, 'job-completed.png'), fullPage: true });
    expect(await page.evaluate(ACCESSIBILITY_PROBLEMS)).toEqual([]);

    // The same from the form: the limit is prefilled with the best price; a second job completes.
    await page.selectOption('#job-instrument', instrument);
    expect(await page.inputValue('#job-limit')).toBe('1.75');
    await page.fill('#job-hours', '1');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.locator('.form-status', { hasText: 'Submitted job' }).waitFor();
    await page.locator('#job-board tbody tr', { hasText: '1 / 1' }).filter({ hasText: 'completed' }).waitFor({ timeout: 90_000 });
    expect(await count(`SELECT count(*) AS n FROM gateway.jobs WHERE customer_id = $1 AND status = 'completed'`, [customer])).toBe(2);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows each role its own views, and fits a phone', async () => {
    const page = await browser.newPage({ viewport: { width: 375, height: 812 } });
    await signIn(page, 'finance', `finance-screen-${randomUUID().slice(0, 6)}`);
    const tabs = await page.locator('[role="tab"]').allTextContents();
    expect(tabs).toEqual(['Market', 'Finance']);
    await page.locator('#tab-finance').click();
    await page.locator('#reconciliation', { hasText: 'allocations matched' }).waitFor();
    expect(await page.locator('#reconciliation').textContent()).toMatch(/\d+ usage events posted in \d+ journal transactions, 0 not matching their events/);
    // Nothing wider than the screen: tables scroll inside their panels.
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(375);
    await page.screenshot({ path: path.join(SHOTS, 'finance-phone.png'), fullPage: true });
    expect(await page.evaluate(ACCESSIBILITY_PROBLEMS)).toEqual([]);

    // Signing out clears the key: the next page load asks for one again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#api-key').waitFor();
    await page.close();

    // A browser of its own (a new context: its own session storage) for the provider.
    const mine = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(mine, 'provider', provider);
    expect(await mine.locator('[role="tab"]').allTextContents()).toEqual(['Market', 'Provider']);
    await mine.locator('#tab-provider').click();
    await mine.locator('#provider-offers', { hasText: 'o-1' }).waitFor();
    await mine.locator('#provider-fills tbody tr[data-key]').first().waitFor();
    await mine.screenshot({ path: path.join(SHOTS, 'provider.png'), fullPage: true });
    await mine.close();
  });
});
