import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeVariant } from '../../../src/evidence/index.js';
import type { VariantEvidence } from '../../../src/evidence/types.js';
import { renderHtml } from '../../../src/report/html.js';
import { compareKernels, differenceSentences } from '../../../src/report/kernels.js';
import { renderMarkdown } from '../../../src/report/markdown.js';
import type { RunResult, VariantResult } from '../../../src/result/types.js';
import { runResult, variantResult } from '../result/variant.js';

// The client's conntrack reasons of scenarios/nat-reset.yaml's nat variant on 5.10 and 6.18
// (real captures, see test/fixtures/evidence/nat-reset/README.md).
const NAT = join(import.meta.dirname, '../../fixtures/evidence/nat-reset');

function variant(kernel: string, o: { complete: boolean; clientInvalid: number }): VariantResult {
  return variantResult({
    name: 'nat',
    kernel,
    sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': '0' },
    harvest: { records: o.complete ? 2000 : 0, expectedRecords: 2000, complete: o.complete, pages: 4 },
    attempts: { total: 4, ok: 4 },
    client: { nstat: {}, serviceVip: '198.18.3.80', conntrackInvalid: o.clientInvalid, invalidDrops: null },
    dir: `kernel-${kernel}/nat`,
  });
}

function run(variants: VariantResult[]): RunResult {
  return runResult(variants, {
    scenario: 'nat-reset',
    scenarioFile: '/x/nat-reset.yaml',
    kernel: 'several',
    runId: 'r1',
    startedAt: '2026-11-25T00:00:00Z',
    verdict: 'v',
  });
}

describe("the client's conntrack in the reports", async () => {
  const old = variant('5.10.0-35-cloud-amd64', { complete: false, clientInvalid: 86 });
  const now = variant('6.18.44', { complete: true, clientInvalid: 0 });
  const ev: Record<string, VariantEvidence> = {
    [old.dir!]: await analyzeVariant(join(NAT, 'nat-5.10')),
    [now.dir!]: await analyzeVariant(join(NAT, 'nat-6.18')),
  };

  it("shows the client's reasons under their own heading in report.html", () => {
    const html = renderHtml(run([old]), ev);
    const why = html.slice(
      html.indexOf('<h2 id="reasons">'),
      html.indexOf('<h2', html.indexOf('<h2 id="reasons">') + 5),
    );
    expect(why).toContain("at the client's conntrack (its NAT)");
    expect(why).toMatch(
      /<td>SEQ is under the lower bound \(already ACKed data retransmitted\)<\/td><td class="num">43<\/td>/,
    );
    expect(why).toContain('conntrack -S counted 86 INVALID at the client');
  });

  it('says when the client logged reasons but counted nothing INVALID', () => {
    const html = renderHtml(run([now]), ev);
    const why = html.slice(html.indexOf('<h2 id="reasons">'));
    expect(why).toMatch(
      /<td>SEQ is under lower bound \(already ACKed data retransmitted\)<\/td><td class="num">100<\/td>/,
    );
    expect(why).toContain('counted none INVALID');
  });

  it('leaves the client heading out when there is no client capture', () => {
    const e = { ...ev[old.dir!]! };
    delete e.clientReasons;
    delete e.clientCounters;
    expect(renderHtml(run([old]), { [old.dir!]: e })).not.toContain("at the client's conntrack");
  });

  it("puts the client's reasons in summary.md", () => {
    const md = renderMarkdown(run([now]), ev);
    expect(md).toContain('### Why packets died');
    expect(md).toContain("The client's conntrack (its NAT) logged 100 packets with a reason");
  });

  it('compares the client reasons across kernels, labelled as the client', () => {
    const c = compareKernels(run([old, now]), ev, (v) => v.dir!);
    expect(c.rows[0]!.cells.map((x) => [...x!.clientReasons.entries()])).toEqual([
      [['SEQ is under the lower bound (already ACKed data retransmitted)', 43]],
      [['SEQ is under lower bound (already ACKed data retransmitted)', 100]],
    ]);
    expect(c.differences.filter((d) => d.at === 'client').map((d) => d.reason)).toEqual([
      'SEQ is under lower bound (already ACKed data retransmitted)',
      'SEQ is under the lower bound (already ACKed data retransmitted)',
    ]);
    expect(c.differences.filter((d) => d.at === 'server')).toEqual([]);
    const s = differenceSentences(c).join('\n');
    expect(s).toContain(
      'nat: at the client, conntrack judged packets INVALID with "SEQ is under the lower bound (already ACKed data retransmitted)" on 5.10.0-35-cloud-amd64, never on 6.18.44.',
    );
    // On 6.18 the client counted nothing INVALID: the logged line is not called INVALID.
    expect(s).toContain(
      'nat: at the client, conntrack logged "SEQ is under lower bound (already ACKed data retransmitted)" but counted no packet INVALID (let through) on 6.18.44, never on 5.10.0-35-cloud-amd64.',
    );
    const html = renderHtml(run([old, now]), ev);
    expect(html).toContain('client: 43 × SEQ is under the lower bound (already ACKed data retransmitted)');
  });
});
