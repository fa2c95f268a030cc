/**
 * JUnit XML for CI systems (Jenkins, GitLab, GitHub test reporters): one <testcase> per scenario,
 * its failure message naming file, step and field, and every step's note in <system-out>.
 */
import type { ScenarioResult } from './runner.ts';

export function escapeXml(s: string): string {
  // XML 1.0 forbids most control characters even when escaped: drop them.
  return s
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

export function junitXml(results: ScenarioResult[], suiteName = 'irqmon hil', timestamp = new Date()): string {
  const failures = results.filter((r) => !r.ok).length;
  const time = results.reduce((a, r) => a + r.wallMs, 0) / 1000;
  const cases = results.map((r) => {
    const steps = r.steps.map((s) => `steps[${s.index}] ${s.kind}: ${s.ok ? 'ok' : 'FAILED'} at ${(s.t / 1000).toFixed(3)} s: ${s.note}`).join('\n');
    const out = `device ${r.device}; ${(r.hostMs / 1000).toFixed(3)} s ${r.virtualClock ? 'virtual' : 'host'} time\n${steps}`;
    const failure = r.ok ? '' : `\n      <failure message="${escapeXml(r.failure)}" type="ScenarioFailed">${escapeXml(r.failure)}</failure>`;
    return (
      `    <testcase classname="${escapeXml(r.file)}" name="${escapeXml(r.name)}" time="${(r.wallMs / 1000).toFixed(3)}">` +
      `${failure}\n      <system-out>${escapeXml(out)}</system-out>\n    </testcase>`
    );
  });
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="${escapeXml(suiteName)}" tests="${results.length}" failures="${failures}" errors="0" time="${time.toFixed(3)}">\n` +
    `  <testsuite name="${escapeXml(suiteName)}" tests="${results.length}" failures="${failures}" errors="0" skipped="0" time="${time.toFixed(3)}" timestamp="${timestamp.toISOString().slice(0, 19)}">\n` +
    `${cases.join('\n')}\n` +
    `  </testsuite>\n</testsuites>\n`
  );
}
