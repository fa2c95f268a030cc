import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { loadScenario } from '../../host/hil/scenario.ts';
import { runScenario, type ScenarioResult } from '../../host/hil/runner.ts';
import { runCampaign, type CampaignResult } from '../../host/hil/campaign.ts';
import { hilReport } from '../../host/report/html.ts';
import { campaignReport } from '../../host/report/campaign-report.ts';
import { histogram, percentile } from '../../host/report/stats.ts';

const CHROMIUM = '/usr/bin/chromium';
const DOCS = new URL('../../docs/scenarios/', import.meta.url).pathname;
let browser: Browser;
const dir = mkdtempSync(join(tmpdir(), 'irqmon-report-'));

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (.ci/run does: apt-get install chromium)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

/** Opens a report file; returns the page and every console error / failed request seen. */
async function open(file: string) {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) problems.push(`network request: ${r.url()}`);
  });
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  return { page, problems };
}

describe('stats', () => {
  it('nearest-rank percentiles and equal-width bins', () => {
    const xs = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(xs, 50)).toBe(5);
    expect(percentile(xs, 95)).toBe(10);
    const bins = histogram(xs, 3);
    expect(bins.map((b) => b.count)).toEqual([3, 3, 4]);
    expect(bins.reduce((a, b) => a + b.count, 0)).toBe(xs.length);
  });
});

describe('HTML reports in headless Chromium', () => {
  it('the HIL report renders without console errors or network and shows the counts', async () => {
    const results: ScenarioResult[] = [];
    for (const f of ['exception-resume.yaml', 'must-fail/wrong-class.yaml']) results.push(await runScenario(loadScenario(join(DOCS, f))));
    const file = join(dir, 'hil.html');
    writeFileSync(file, hilReport(results));
    const { page, problems } = await open(file);
    expect(problems).toEqual([]);
    const count = (k: string) => page.locator(`[data-count="${k}"]`).innerText();
    expect(await count('scenarios')).toBe('2');
    expect(await count('passed')).toBe('1');
    expect(await count('failed')).toBe('1');
    const faults = results.reduce((a, r) => a + r.injections.length, 0);
    expect(await count('faults')).toBe(String(faults));
    expect(await page.locator('section.run').count()).toBe(2);
    expect(await page.locator('section.run[data-ok="false"] .failure').innerText()).toContain('expect.class: expected out_of_memory, got exception');
    // one timeline per run, one histogram per injected class, visibly drawn
    expect(await page.locator('svg.timeline').count()).toBe(2);
    expect(await page.locator('svg.hist[data-class="exception"]').count()).toBe(2);
    const box = await page.locator('svg.timeline').first().boundingBox();
    expect(box!.width).toBeGreaterThan(300);
    expect(await page.locator('svg.timeline').first().locator('circle').count()).toBeGreaterThanOrEqual(3);
    await page.close();
  }, 60_000);

  it('the campaign report shows faults, recoveries, the per-class table and a histogram per class', async () => {
    const r: CampaignResult = await runCampaign({ faults: 8, seed: 5, classes: ['exception', 'power-cut', 'hang'], spacingMs: 0 });
    expect(r.faults).toHaveLength(8);
    const file = join(dir, 'campaign.html');
    writeFileSync(file, campaignReport(r));
    const { page, problems } = await open(file);
    expect(problems).toEqual([]);
    expect(await page.locator('[data-count="faults"]').innerText()).toBe('8');
    expect(await page.locator('[data-count="recovered"]').innerText()).toBe(String(r.faults.filter((f) => f.recovered).length));
    expect(await page.locator('[data-count="integrity"]').innerText()).toBe(r.integrity ? 'golden' : 'FAILED');
    const rows = await page.locator('table.classes tr').allInnerTexts();
    expect(rows).toHaveLength(1 + 3);
    for (const c of r.perClass) {
      const row = rows.find((x) => x.startsWith(c.cls))!;
      expect(row.split('\t')[1]).toBe(String(c.injected));
    }
    const used = r.perClass.filter((c) => c.injected > 0).length;
    expect(await page.locator('svg.hist').count()).toBe(used);
    expect(await page.locator('[data-run-count="resets"]').innerText()).toBe(String(r.boards[0].timeline.filter((e) => e.kind === 'reset').length));
    await page.close();
  }, 90_000);
});
