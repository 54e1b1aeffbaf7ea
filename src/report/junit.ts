// junit.xml: one test case per expectation per variant, so CI systems show each one; a failure
// carries the measured value. Run problems (e.g. NFQUEUE drops) are a failing case of their own.
import { escXml } from './escape.js';
import { variantLabel } from './kernels.js';
import type { RunResult, VariantResult } from '../result/types.js';
import { actualText } from './workload.js';

export function renderJunit(r: RunResult): string {
  const label = (v: VariantResult) => variantLabel(r, v);
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  for (const v of r.variants) {
    const cases = v.expectations.map((e) => {
      tests++;
      const time = (v.timings.harvestMs / 1000 / Math.max(1, v.expectations.length)).toFixed(3);
      const head = `    <testcase classname="${escXml(`ctlab.${r.scenario}.${label(v)}`)}" name="${escXml(e.text)}" time="${time}"`;
      if (e.passed) return `${head}/>`;
      failures++;
      const msg = `expected ${e.text}, measured ${actualText(e.actual)}`;
      return `${head}>\n      <failure message="${escXml(msg)}" type="expectation">${escXml(`${msg}\nverdict: ${r.verdict}`)}</failure>\n    </testcase>`;
    });
    const f = v.expectations.filter((e) => !e.passed).length;
    suites.push(
      `  <testsuite name="${escXml(`${r.scenario} / ${label(v)}`)}" tests="${v.expectations.length}" failures="${f}" errors="0" time="${(v.timings.harvestMs / 1000).toFixed(3)}">\n` +
        `    <properties>\n${Object.entries(v.sysctls)
          .map(([k, x]) => `      <property name="${escXml(k)}" value="${escXml(x)}"/>`)
          .join('\n')}\n    </properties>\n` +
        (cases.length ? `${cases.join('\n')}\n` : '') +
        '  </testsuite>',
    );
  }
  if (r.problems.length > 0) {
    tests++;
    failures++;
    suites.push(
      `  <testsuite name="${escXml(`${r.scenario} / run`)}" tests="1" failures="1" errors="0">\n` +
        `    <testcase classname="${escXml(`ctlab.${r.scenario}`)}" name="the run is trustworthy">\n` +
        `      <failure message="${escXml(r.problems[0])}" type="problem">${escXml(r.problems.join('\n'))}</failure>\n    </testcase>\n  </testsuite>`,
    );
  }
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites name="${escXml(`ctlab ${r.scenario}`)}" tests="${tests}" failures="${failures}" errors="0" time="${((r.durationMs ?? 0) / 1000).toFixed(3)}">\n` +
    `${suites.join('\n')}\n</testsuites>\n`
  );
}
