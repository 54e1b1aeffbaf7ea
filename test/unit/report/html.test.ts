import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../../src/evidence/index.js';
import type { VariantEvidence } from '../../../src/evidence/types.js';
import { rebucket } from '../../../src/report/charts.js';
import { esc } from '../../../src/report/escape.js';
import { renderHtml } from '../../../src/report/html.js';
import { renderJunit } from '../../../src/report/junit.js';
import { mdEscape, renderMarkdown } from '../../../src/report/markdown.js';
import type { RunResult } from '../../../src/result/types.js';

const FIX = join(import.meta.dirname, '../../fixtures/evidence/run');
const XSS = '<script>alert(1)</script>';

async function load(): Promise<{ r: RunResult; ev: Record<string, VariantEvidence> }> {
  const r = JSON.parse(await readFile(join(FIX, 'result.json'), 'utf8')) as RunResult;
  return { r, ev: await analyzeRun(r, FIX) };
}

/** A result and evidence where everything that comes from outside is hostile. */
async function hostile(): Promise<{ r: RunResult; ev: Record<string, VariantEvidence> }> {
  const { r, ev } = await load();
  r.scenario = XSS;
  r.scenarioFile = `scenarios/${XSS}.yaml`;
  r.verdict = `Reproduced ${XSS}`;
  r.problems = [`problem ${XSS}`];
  r.variants[0]!.files.evil = `"><img src=x onerror=alert(2)>.pcap`;
  r.variants[0]!.expectations[0]!.text = `records > 0 ${XSS}`;
  r.variants[0]!.expectations[0]!.passed = false;
  const e = ev['flag-off']!;
  e.reasons[0]!.reason = `ACK ${XSS}`;
  // The flow's sentence quotes its reasons; the headline quotes e.reasons.
  e.flows[0]!.reasons = { [`flow ${XSS}`]: e.flows[0]!.invalidDrops };
  return { r, ev };
}

describe('report.html', () => {
  it('puts the verdict first, then the side-by-side table, charts and diagnosis', async () => {
    const { r, ev } = await load();
    const h = renderHtml(r, ev);
    const at = (s: string) => h.indexOf(s);
    expect(at('id="verdict"')).toBeGreaterThan(0);
    expect(at('id="verdict"')).toBeLessThan(at('id="table"'));
    expect(at('id="table"')).toBeLessThan(at('id="charts"'));
    expect(h).toContain(esc(r.verdict));
    expect(h).toContain('ACK is over upper bound (ACKed data not seen yet)');
    expect(h).toContain('Attempt 2 of page 0 (client port 55030) timed out');
    // Charts: three per variant, with their data points drawn.
    const charts = [...h.matchAll(/<svg [^>]*data-chart="([a-z-]+)" data-points="(\d+)"/g)].map((m) => [
      m[1],
      Number(m[2]),
    ]);
    expect(charts).toHaveLength(6);
    expect(charts.filter(([k]) => k === 'attempts').map(([, p]) => p)).toEqual([3, 39]);
    expect(charts.find(([k]) => k === 'invalid-drops')![1]).toBeGreaterThan(0);
    expect((h.match(/data-outcome="read-timeout"/g) ?? []).length).toBe(3);
    // Links to the captures, relative.
    expect(h).toContain('<a href="flag-off/invalid-reasons.pcap">');
  });

  it('is self-contained: nothing is fetched', async () => {
    const { r, ev } = await load();
    const h = renderHtml(r, ev);
    expect(h).not.toMatch(/<script[^>]+src=/i);
    expect(h).not.toMatch(/<link\b/i);
    expect(h).not.toMatch(/@import|url\(/i);
    // The only absolute URL is SVG's namespace name, which is never fetched.
    const urls = [...h.matchAll(/https?:\/\/[^\s"'<)]+/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg']));
  });

  it('renders hostile names, paths, reasons and log text as text', async () => {
    const { r, ev } = await hostile();
    const h = renderHtml(r, ev);
    expect(h).not.toContain(XSS);
    expect(h).not.toContain('<img');
    expect(h).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    // Exactly one script element: ours.
    expect((h.match(/<script/g) ?? []).length).toBe(1);
    expect(h).toContain(`ACK ${esc(XSS)}`);
    expect(h).toContain(`flow ${esc(XSS)}`);
  });
});

describe('summary.md', () => {
  it('has the verdict, the table and each expectation with its measured value', async () => {
    const { r, ev } = await load();
    const md = renderMarkdown(r, ev);
    expect(md).toMatch(/^## ctlab: harvester-asa — ✅ every expectation met/);
    expect(md).toContain('| INVALID drops (firewall) | 161 | 0 |');
    expect(md).toContain('- ✅ flag-off: server.invalidDrops &gt; 0 — measured 161');
    expect(md).toContain('### Why packets died');
  });

  it('escapes outside text', async () => {
    const { r, ev } = await hostile();
    const md = renderMarkdown(r, ev);
    expect(md).not.toContain(XSS);
    expect(mdEscape('a|b <i>')).toBe('a\\|b &lt;i&gt;');
  });
});

describe('junit.xml', () => {
  it('has one test case per expectation per variant, failures with the measured value', async () => {
    const { r } = await load();
    r.variants[1]!.expectations[0] = { text: 'records == 3812', passed: false, actual: 1200 };
    const x = renderJunit(r);
    expect((x.match(/<testcase /g) ?? []).length).toBe(6);
    expect(x).toMatch(/<testsuites name="ctlab harvester-asa" tests="6" failures="1"/);
    expect(x).toContain('<failure message="expected records == 3812, measured 1200" type="expectation">');
    expect(x).toContain('<property name="net.netfilter.nf_conntrack_tcp_be_liberal" value="1"/>');
  });

  it('escapes outside text and adds a failing case for run problems', async () => {
    const { r } = await hostile();
    r.scenario = `a"b<c>&\u0001`;
    const x = renderJunit(r);
    expect(x).not.toContain(XSS);
    expect(x).toContain('name="ctlab a&quot;b&lt;c&gt;&amp;\ufffd"');
    expect(x).toContain('name="the run is trustworthy"');
  });
});

describe('rebucket', () => {
  it('adds counts and averages rates into coarser buckets', () => {
    const pts = [
      { tMs: 0, value: 10 },
      { tMs: 200, value: 30 },
      { tMs: 1000, value: 5 },
    ];
    expect(rebucket(pts, 200, 1000, 'count')).toEqual([
      { tMs: 0, value: 40 },
      { tMs: 1000, value: 5 },
    ]);
    expect(rebucket(pts, 200, 1000, 'rate')).toEqual([
      { tMs: 0, value: 8 },
      { tMs: 1000, value: 1 },
    ]);
  });
});
