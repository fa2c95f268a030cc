/**
 * The HTML reports as a person sees them: opened from disk in a real headless Chromium (a system
 * one, or the one `npm ci` brings; see test/browser.ts), every section a user reads checked for
 * presence, visibility and the numbers the run produced, no console error, no request leaving
 * the file. Screenshots and the report files stay in test-output/report/ for a person to look at.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchChromium } from '../browser.ts';
import { loadScenario } from '../../host/hil/scenario.ts';
import { runScenario, type ScenarioResult } from '../../host/hil/runner.ts';
import { runCampaign, type CampaignResult } from '../../host/hil/campaign.ts';
import { hilReport } from '../../host/report/html.ts';
import { campaignReport } from '../../host/report/campaign-report.ts';
import { histogram, percentile } from '../../host/report/stats.ts';

const DOCS = new URL('../../docs/scenarios/', import.meta.url).pathname;
const OUT = new URL('../../test-output/report/', import.meta.url).pathname;
const VIEWPORT = { width: 1100, height: 800 };
let browser: Browser;

beforeAll(async () => {
  // A stale screenshot from an earlier run must not pass for this run's.
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const launched = await launchChromium();
  browser = launched.browser;
  console.log(`report test browser: ${launched.choice.describe}`);
  writeFileSync(join(OUT, 'browser.txt'), `${launched.choice.describe}\n`);
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

/** Opens a report file; returns the page and every console message, page error or request that is not the file itself. */
async function open(file: string) {
  const page = await browser.newPage({ viewport: VIEWPORT });
  const url = pathToFileURL(file).href;
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (r.url() !== url && !r.url().startsWith('data:')) problems.push(`request leaving the file: ${r.url()}`);
  });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  await page.goto(url, { waitUntil: 'load' });
  return { page, problems };
}

/**
 * A duration as the report prints it ("407 ms", "2.82 s", "12.3 s") with the rounding its digits
 * allow, so the shown figure can be held against the measured one.
 */
function shownMs(text: string): { ms: number; tol: number } {
  const m = /^(\d+(?:\.(\d+))?) (ms|s)$/.exec(text.trim());
  if (!m) throw new Error(`not a duration as the report prints one: "${text}"`);
  const decimals = m[2]?.length ?? 0;
  const unit = m[3] === 's' ? 1000 : 1;
  return { ms: Number(m[1]) * unit, tol: (0.5 * unit) / 10 ** decimals + 1e-9 };
}

function expectShown(text: string, ms: number, what: string) {
  const s = shownMs(text);
  expect(Math.abs(s.ms - ms), `${what}: shown "${text}", measured ${ms} ms`).toBeLessThanOrEqual(s.tol);
}

/** The visible rows of a table as cell texts. */
const tableCells = (t: Locator) => t.evaluate((el: HTMLTableElement) => [...el.rows].map((r) => [...r.cells].map((c) => (c.textContent ?? '').trim())));

async function expectVisible(l: Locator, what: string) {
  expect(await l.count(), `${what}: not in the page`).toBeGreaterThan(0);
  expect(await l.first().isVisible(), `${what}: not visible`).toBe(true);
  const box = await l.first().boundingBox();
  expect(box && box.width > 0 && box.height > 0, `${what}: drawn with no size`).toBe(true);
}

interface Mark {
  lane: string;
  x: number;
  title: string;
}

/**
 * The marks of a timeline, each assigned to the lane whose label sits on its row (what a reader
 * does), and the tick labels of its time axis.
 */
async function timeline(svg: Locator): Promise<{ marks: Mark[]; ticks: { text: string; x: number }[]; unplaced: string[] }> {
  return svg.evaluate((el: SVGSVGElement) => {
    const texts = [...el.querySelectorAll('text')];
    const lanes = texts
      .filter((t) => ['faults', 'resets', 'recoveries'].includes(t.textContent ?? ''))
      .map((t) => {
        const b = t.getBoundingClientRect();
        return { name: t.textContent!, y: b.top + b.height / 2 };
      });
    const marks: { lane: string; x: number; title: string }[] = [];
    const unplaced: string[] = [];
    for (const shape of el.querySelectorAll('circle, rect')) {
      const b = shape.getBoundingClientRect();
      const cy = b.top + b.height / 2;
      const title = shape.querySelector('title')?.textContent ?? '';
      const lane = lanes.find((l) => Math.abs(l.y - cy) < 8);
      if (!lane || b.width === 0) unplaced.push(title);
      else marks.push({ lane: lane.name, x: b.left + b.width / 2, title });
    }
    const bottom = Math.max(...texts.map((t) => t.getBoundingClientRect().top));
    const ticks = texts
      .filter((t) => t.getBoundingClientRect().top === bottom)
      .map((t) => {
        const b = t.getBoundingClientRect();
        return { text: t.textContent ?? '', x: b.left };
      });
    return { marks, ticks, unplaced };
  });
}

/** Marks of one lane ordered by the time in their tooltip; their x must grow with it. */
function lane(marks: Mark[], name: string): { t: number; title: string }[] {
  const mine = marks
    .filter((m) => m.lane === name)
    .map((m) => ({ ...m, t: shownMs(m.title.slice(0, m.title.indexOf(':'))).ms }))
    .sort((a, b) => a.t - b.t);
  for (let i = 1; i < mine.length; i++) expect(mine[i].x, `${name} lane: "${mine[i].title}" drawn left of "${mine[i - 1].title}"`).toBeGreaterThanOrEqual(mine[i - 1].x - 0.5);
  return mine;
}

/** An RTO histogram: its sample count (title), the counts of its bars and its median/p95/max line. */
async function readHistogram(svg: Locator) {
  return svg.evaluate((el: SVGSVGElement) => {
    const texts = [...el.querySelectorAll('text')].map((t) => t.textContent ?? '');
    const bars = [...el.querySelectorAll('rect.bar')].map((r) => {
      const b = r.getBoundingClientRect();
      return { title: r.querySelector('title')?.textContent ?? '', height: b.height };
    });
    return { label: texts[0], summary: texts.find((t) => t.startsWith('median ')) ?? '', bars };
  });
}

async function expectHistogram(svg: Locator, cls: string, rtoMs: number[]) {
  await expectVisible(svg, `RTO histogram of ${cls}`);
  const h = await readHistogram(svg);
  expect(h.label).toBe(`${cls} (${rtoMs.length})`);
  const counts = h.bars.map((b) => Number(/: (\d+)$/.exec(b.title)?.[1]));
  expect(counts.reduce((a, b) => a + b, 0), `bars of ${cls}: ${JSON.stringify(h.bars)}`).toBe(rtoMs.length);
  // a bar with samples is drawn with height, an empty one is not
  h.bars.forEach((b, i) => expect(b.height > 0, `bar ${i} of ${cls} (${b.title})`).toBe(counts[i] > 0));
  const m = /^median (.+) · p95 (.+) · max (.+)$/.exec(h.summary);
  expect(m, `summary line of ${cls}: "${h.summary}"`).not.toBeNull();
  expectShown(m![1], percentile(rtoMs, 50), `${cls} median`);
  expectShown(m![2], percentile(rtoMs, 95), `${cls} p95`);
  expectShown(m![3], Math.max(...rtoMs), `${cls} max`);
}

/** Saves a full-page screenshot and checks it is the whole page at the viewport's width. */
async function screenshot(page: Page, name: string) {
  const file = join(OUT, name);
  await page.screenshot({ path: file, fullPage: true });
  const png = readFileSync(file);
  expect(png.subarray(1, 4).toString()).toBe('PNG');
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  expect({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) }).toEqual({ width: VIEWPORT.width, height });
}

const count = (page: Page, k: string) => page.locator(`[data-count="${k}"]`).innerText();

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

describe('HTML reports in headless Chromium, read as a user reads them', () => {
  it('campaign report: summary, per-class table, timeline with one mark per fault, reset and recovery, RTO histograms', async () => {
    const r: CampaignResult = await runCampaign({ faults: 8, seed: 5, classes: ['exception', 'power-cut', 'hang'], spacingMs: 0 });
    expect(r.faults).toHaveLength(8);
    const file = join(OUT, 'campaign.html');
    writeFileSync(file, campaignReport(r));
    const { page, problems } = await open(file);

    await expectVisible(page.getByRole('heading', { name: /irqmon campaign: 8 faults, seed 5/ }), 'title');
    const recovered = r.faults.filter((f) => f.recovered).length;
    const board = r.boards[0];
    const resets = board.timeline.filter((e) => e.kind === 'reset').length;
    expect(await count(page, 'faults')).toBe('8');
    expect(await count(page, 'recovered')).toBe(String(recovered));
    expect(await count(page, 'recovery-rate')).toBe(`${((recovered / 8) * 100).toFixed(1)}%`);
    expect(await count(page, 'resets')).toBe(String(resets));
    expect(await count(page, 'jobs')).toBe(String(r.jobs.length));
    expect(await count(page, 'integrity')).toBe(r.integrity ? 'golden' : 'FAILED');

    // the per-class table, each figure against the campaign's own
    await expectVisible(page.getByRole('heading', { name: 'Per fault class' }), 'per-class heading');
    await expectVisible(page.locator('table.classes'), 'per-class table');
    const [head, ...rows] = await tableCells(page.locator('table.classes'));
    const col = (name: string) => {
      const i = head.indexOf(name);
      expect(i, `per-class table column "${name}" in ${JSON.stringify(head)}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    expect(rows.map((x) => x[0]).sort()).toEqual(['exception', 'hang', 'power-cut']);
    expect(rows.reduce((a, x) => a + Number(x[col('faults')]), 0)).toBe(8);
    for (const c of r.perClass) {
      const row = rows.find((x) => x[0] === c.cls)!;
      expect(row[col('faults')]).toBe(String(c.injected));
      expect(row[col('faults')]).toBe(String(r.faults.filter((f) => f.cls === c.cls).length));
      expect(row[col('recovered')]).toBe(String(c.recovered));
      expectShown(row[col('RTO median')], c.rto.median, `${c.cls} RTO median`);
      expectShown(row[col('RTO p95')], c.rto.p95, `${c.cls} RTO p95`);
      expectShown(row[col('RTO max')], c.rto.max, `${c.cls} RTO max`);
      expect(Number(row[col('RPO redone median')])).toBe(Math.round(c.redone.median));
      expect(Number(row[col('p95')])).toBe(Math.round(c.redone.p95));
      expect(Number(row[col('max')])).toBe(Math.round(c.redone.max));
      expect(row[col('lost')]).toBe(String(c.lost));
    }

    // the board's section: its counts and its timeline
    const run = page.locator('section.run');
    expect(await run.count()).toBe(1);
    await expectVisible(run.getByRole('heading', { name: /PASS board virtual:/ }), 'board heading');
    expect(await run.locator('[data-run-count="faults"]').innerText()).toBe('8');
    expect(await run.locator('[data-run-count="resets"]').innerText()).toBe(String(resets));
    expect(await run.locator('[data-run-count="recovered"]').innerText()).toBe(String(recovered));
    await expectVisible(run.getByRole('heading', { name: 'Timeline' }), 'timeline heading');
    const svg = run.locator('svg.timeline');
    await expectVisible(svg, 'timeline');
    expect((await svg.boundingBox())!.width).toBeGreaterThan(VIEWPORT.width * 0.8);
    const tl = await timeline(svg);
    expect(tl.unplaced, 'marks on no lane').toEqual([]);
    const faultMarks = lane(tl.marks, 'faults');
    expect(faultMarks.map((m) => /: inject (\S+)/.exec(m.title)?.[1]).sort()).toEqual(r.faults.map((f) => f.cls).sort());
    const injected = board.timeline.filter((e) => e.kind === 'inject');
    faultMarks.forEach((m, i) => expectShown(m.title.slice(0, m.title.indexOf(':')), injected[i].t, `fault mark ${i}`));
    const resetMarks = lane(tl.marks, 'resets');
    expect(resetMarks).toHaveLength(resets);
    expect(resetMarks.every((m) => /: board reset: /.test(m.title))).toBe(true);
    const recoveryMarks = lane(tl.marks, 'recoveries');
    expect(recoveryMarks.map((m) => m.title).filter((t) => !/: recovered: /.test(t))).toEqual([]);
    expect(recoveryMarks).toHaveLength(r.faults.filter((f) => f.recovered && !f.absorbed).length);
    // every fault is followed by its reset and then its recovery, in the drawn order
    faultMarks.forEach((f, i) => {
      expect(resetMarks.some((x) => x.t >= f.t && (i + 1 >= faultMarks.length || x.t <= faultMarks[i + 1].t)), `a reset after fault ${i}`).toBe(true);
      expect(recoveryMarks.some((x) => x.t >= f.t && (i + 1 >= faultMarks.length || x.t <= faultMarks[i + 1].t)), `a recovery after fault ${i}`).toBe(true);
    });
    expect(tl.ticks[0].text).toBe('0 ms');
    expectShown(tl.ticks[tl.ticks.length - 1].text, board.hostMs, 'time axis end');

    // one RTO histogram per class with faults, agreeing with the table
    await expectVisible(run.getByRole('heading', { name: /RTO per fault class/ }), 'RTO heading');
    const used = r.perClass.filter((c) => c.injected > 0);
    expect(await run.locator('svg.hist').count()).toBe(used.length);
    for (const c of used) await expectHistogram(run.locator(`svg.hist[data-class="${c.cls}"]`), c.cls, c.rtoMs);

    expect(problems).toEqual([]);
    await screenshot(page, 'campaign.png');
    await page.close();
  }, 120_000);

  it('HIL report: summary, one section per scenario with its failure, timeline, RTO histogram', async () => {
    const results: ScenarioResult[] = [];
    for (const f of ['exception-resume.yaml', 'must-fail/wrong-class.yaml']) results.push(await runScenario(loadScenario(join(DOCS, f))));
    expect(results.map((x) => x.ok)).toEqual([true, false]);
    const file = join(OUT, 'hil.html');
    writeFileSync(file, hilReport(results));
    const { page, problems } = await open(file);

    await expectVisible(page.getByRole('heading', { name: 'irqmon HIL report' }), 'title');
    expect(await count(page, 'scenarios')).toBe('2');
    expect(await count(page, 'passed')).toBe('1');
    expect(await count(page, 'failed')).toBe('1');
    expect(await count(page, 'faults')).toBe(String(results.reduce((a, x) => a + x.injections.length, 0)));
    expect(await count(page, 'recovered')).toBe(String(results.reduce((a, x) => a + x.incidents.filter((i) => i.ok).length, 0)));

    const sections = page.locator('section.run');
    expect(await sections.count()).toBe(2);
    for (const [i, res] of results.entries()) {
      const s = sections.nth(i);
      await expectVisible(s.getByRole('heading', { name: `${res.ok ? 'PASS' : 'FAIL'} ${res.name}` }), `heading of ${res.name}`);
      expect(await s.getAttribute('data-ok')).toBe(String(res.ok));
      if (res.ok) expect(await s.locator('.failure').count()).toBe(0);
      else {
        await expectVisible(s.locator('.failure'), `failure of ${res.name}`);
        expect(await s.locator('.failure').innerText()).toContain('expect.class: expected out_of_memory, got exception');
      }
      expect(await s.locator('[data-run-count="faults"]').innerText()).toBe(String(res.injections.length));
      expect(await s.locator('[data-run-count="recovered"]').innerText()).toBe(String(res.incidents.filter((x) => x.ok).length));

      const svg = s.locator('svg.timeline');
      await expectVisible(svg, `timeline of ${res.name}`);
      const tl = await timeline(svg);
      expect(tl.unplaced, 'marks on no lane').toEqual([]);
      const faults = lane(tl.marks, 'faults');
      expect(faults.map((m) => /: inject (\S+)/.exec(m.title)?.[1])).toEqual(res.injections.map((x) => x.label));
      const resets = lane(tl.marks, 'resets');
      expect(resets.length).toBeGreaterThanOrEqual(res.injections.length);
      expect(resets.every((m) => m.t >= faults[0].t)).toBe(true);
      const recoveries = lane(tl.marks, 'recoveries');
      expect(recoveries).toHaveLength(res.incidents.length);
      expect(recoveries.every((m) => m.t >= resets[0].t)).toBe(true);

      for (const cls of new Set(res.injections.map((x) => x.label))) {
        const rto = res.incidents.filter((x) => x.cls === cls && x.rtoMs !== undefined).map((x) => x.rtoMs!);
        expect(rto.length, `RTO samples of ${cls} in ${res.name}`).toBeGreaterThan(0);
        await expectHistogram(s.locator(`svg.hist[data-class="${cls}"]`), cls, rto);
      }
    }

    expect(problems).toEqual([]);
    await screenshot(page, 'hil.png');
    await page.close();
  }, 120_000);
});
