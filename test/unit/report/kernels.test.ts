// The kernel axis in the reports: which notes apply to a release, kernels side by side (their
// outcomes and INVALID reasons), actions and what was tested, as report.html and summary.md show them.
import { describe, expect, it } from 'vitest';
import type { VariantEvidence } from '../../../src/evidence/types.js';
import {
  compareKernels,
  differenceSentences,
  emulationCaveat,
  kernelsOf,
  notesFor,
  variantLabel,
} from '../../../src/report/kernels.js';
import { renderHtml } from '../../../src/report/html.js';
import { renderMarkdown } from '../../../src/report/markdown.js';
import type { KernelRun, RunResult, VariantResult } from '../../../src/result/types.js';
import { runResult, variantResult } from '../result/variant.js';

function variant(name: string, kernel: string, o: { complete: boolean; drops: number }): VariantResult {
  return variantResult({
    name,
    kernel,
    sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': name === 'flag-on' ? '1' : '0' },
    harvest: { records: o.complete ? 100 : 10, complete: o.complete },
    server: { invalidDrops: o.drops, conntrackInvalid: o.drops },
    dir: `kernel-${kernel}/${name}`,
  });
}

function evidence(dir: string, reasons: [string, number][]): VariantEvidence {
  const total = reasons.reduce((a, [, k]) => a + k, 0);
  return {
    dir,
    t0EpochMs: 0,
    durationMs: 1000,
    attempts: [],
    reasons: reasons.map(([reason, judged]) => ({ reason, judged, dropped: judged })),
    drops: { counter: total, captured: total, withReason: total, withoutReason: 0, accounted: true },
    droppedPackets: [],
    flows: [],
    nginx: { requests: 0, complete: 0, mismatches: [] },
    nstat: [],
    retransmissions: { serverPcap: null, clientPcap: null },
    series: { attempts: [], bucketMs: 1000, throughput: [], throughputSource: 'none', invalidDrops: [] },
    problems: [],
  };
}

/** A kernel that ran in a VM under TCG, and passed. */
function emulated(spec: string, release: string, verdict: string): KernelRun {
  return {
    spec,
    release,
    runtime: 'netns',
    vm: { accel: 'tcg', bootMs: 9000, jobMs: 30000 },
    totalMs: 40000,
    dir: `kernel-${spec}`,
    passed: true,
    verdict,
  };
}

function run(variants: VariantResult[], kernelRuns?: KernelRun[]): RunResult {
  return runResult(variants, {
    scenario: 'late-ack',
    scenarioFile: '/x/late-ack.yaml',
    seed: 1,
    kernel: 'several',
    runId: 'r1',
    startedAt: '2026-11-25T00:00:00Z',
    verdict: 'v',
    kernelRuns,
  });
}

describe('kernel notes', () => {
  it('picks the notes that apply to a release', () => {
    const old = notesFor('5.10.0-35-cloud-amd64')
      .map((n) => n.text)
      .join(' ');
    const now = notesFor('6.18.0')
      .map((n) => n.text)
      .join(' ');
    expect(old).toMatch(/Before 6\.1/);
    expect(old).not.toMatch(/From 6\.1 on/);
    expect(now).toMatch(/From 6\.1 on/);
    expect(now).not.toMatch(/Before 6\.1/);
    expect(now).toMatch(/every kernel measured/);
  });
});

describe('kernels side by side', () => {
  const vs = [
    variant('flag-off', '5.10.0-35-cloud-amd64', { complete: true, drops: 172 }),
    variant('flag-off', '6.1.0-40-cloud-amd64', { complete: true, drops: 0 }),
    variant('flag-on', '5.10.0-35-cloud-amd64', { complete: true, drops: 0 }),
    variant('flag-on', '6.1.0-40-cloud-amd64', { complete: true, drops: 0 }),
  ];
  const ev: Record<string, VariantEvidence> = {
    'kernel-5.10.0-35-cloud-amd64/flag-off': evidence('a', [
      ['ACK is under the lower bound (double or retransmitted ACK)', 172],
    ]),
    'kernel-6.1.0-40-cloud-amd64/flag-off': evidence('b', []),
  };
  it('labels variants with their kernel only when there are several', () => {
    const r = run(vs);
    expect(kernelsOf(r)).toEqual(['5.10.0-35-cloud-amd64', '6.1.0-40-cloud-amd64']);
    expect(variantLabel(r, vs[0]!)).toBe('flag-off @ 5.10.0-35-cloud-amd64');
    expect(variantLabel(run([vs[0]!]), vs[0]!)).toBe('flag-off');
  });
  it('names the reason and the outcome that differ between kernels', () => {
    const r = run(vs);
    const c = compareKernels(r, ev, (v) => v.dir);
    expect(c.differences).toEqual([
      {
        name: 'flag-off',
        at: 'server',
        reason: 'ACK is under the lower bound (double or retransmitted ACK)',
        onKernels: ['5.10.0-35-cloud-amd64'],
        notOnKernels: ['6.1.0-40-cloud-amd64'],
      },
    ]);
    expect(c.outcomeDifferences.map((d) => d.name)).toEqual(['flag-off']);
    const s = differenceSentences(c).join('\n');
    expect(s).toMatch(
      /on 5\.10\.0-35-cloud-amd64 the harvest completed with 172 INVALID drops; on 6\.1\.0-40-cloud-amd64 the harvest completed with 0 INVALID drops/,
    );
    expect(s).toMatch(
      /"ACK is under the lower bound \(double or retransmitted ACK\)" on 5\.10\.0-35-cloud-amd64, never on 6\.1\.0-40-cloud-amd64/,
    );
  });
  it('says so when the kernels agree', () => {
    const same = [
      variant('flag-off', '5.10.1', { complete: false, drops: 9 }),
      variant('flag-off', '6.1.1', { complete: false, drops: 12 }),
    ];
    expect(differenceSentences(compareKernels(run(same), {}, (v) => v.dir))).toEqual([
      'Every variant had the same outcome and the same INVALID reasons on 5.10.1, 6.1.1.',
    ]);
  });
  it('warns against comparing emulated timings with native ones, and only then', () => {
    const runs: KernelRun[] = [
      emulated('5.10', '5.10.0-35-cloud-amd64', 'x'),
      {
        spec: 'host',
        release: '6.18.0',
        runtime: 'docker',
        vm: null,
        totalMs: 50000,
        dir: 'kernel-host',
        passed: true,
        verdict: 'y',
      },
    ];
    expect(emulationCaveat(runs)).toMatch(
      /^5\.10\.0-35-cloud-amd64 ran in a VM under software emulation .* never with 6\.18\.0, which ran natively/,
    );
    expect(emulationCaveat([runs[1]!])).toBeUndefined();
    expect(emulationCaveat([{ ...runs[0]!, vm: { accel: 'kvm', bootMs: 1, jobMs: 1 } }])).toBeUndefined();
  });
  it('puts the comparison in report.html and summary.md', () => {
    const r = run(vs, [
      emulated('5.10', '5.10.0-35-cloud-amd64', 'late ACKs dropped'),
      emulated('6.1', '6.1.0-40-cloud-amd64', 'nothing dropped'),
    ]);
    const html = renderHtml(r, ev);
    expect(html).toContain('<h2 id="kernels">Kernels side by side</h2>');
    expect(html).toContain('172 × ACK is under the lower bound (double or retransmitted ACK)');
    expect(html).toContain('software emulation, TCG');
    expect(html).toContain('flag-off @ 6.1.0-40-cloud-amd64');
    const md = renderMarkdown(r, ev);
    expect(md).toContain('### Kernels');
    expect(md).toMatch(/never on 6\.1\.0-40-cloud-amd64/);
  });
});

describe('actions in the report', () => {
  it('lists each mid-run action, when it ran and what it deleted, and marks one that failed', () => {
    const v = variant('loose-off', '6.18.0', { complete: true, drops: 62 });
    v.actions = [
      {
        text: 'conntrack-flush on server at 1s',
        node: 'server',
        atMs: 1000,
        ranAtMs: 1004,
        ok: true,
        output: 'conntrack entries: 1',
        flushedEntries: 1,
      },
    ];
    const w = variant('late', '6.18.0', { complete: false, drops: 0 });
    w.actions = [
      { text: 'conntrack-flush on server at 9s', node: 'server', atMs: 9000, ranAtMs: null, ok: false, output: '' },
    ];
    const html = renderHtml(run([v, w]), {});
    expect(html).toContain(
      '<code>conntrack-flush on server at 1s</code> on server ran 1.00 s into the harvest (due at 1.00 s), deleting 1 conntrack entry',
    );
    expect(html).toMatch(/✘ failed<\/b> late: <code>conntrack-flush on server at 9s<\/code> on server never ran/);
    expect(renderHtml(run([variant('x', '6.18.0', { complete: true, drops: 0 })]), {})).not.toContain(
      'Actions during the harvest',
    );
  });
});

describe('ignored is not INVALID', () => {
  it('words an "ignored" reason as let through', () => {
    const vs = [
      variant('flag-off', '5.10.1', { complete: true, drops: 3 }),
      variant('flag-off', '6.1.1', { complete: true, drops: 0 }),
    ];
    const ev: Record<string, VariantEvidence> = {
      'kernel-6.1.1/flag-off': evidence('x', [['ignored ACK under lower bound (possible overly delayed)', 18]]),
    };
    const s = differenceSentences(compareKernels(run(vs), ev, (v) => v.dir)).join('\n');
    expect(s).toContain(
      'flag-off: conntrack logged "ignored ACK under lower bound (possible overly delayed)" (let through without updating its state, not INVALID) on 6.1.1, never on 5.10.1.',
    );
  });
});

describe('what was tested', () => {
  it('tells the scenario in its own words, and the SACK story only when SACK blocks went untranslated', () => {
    const plain = run([variant('nat', '6.18.0', { complete: true, drops: 0 })]);
    plain.description = 'Client-side DNAT of a service VIP <kube-proxy style>.';
    const html = renderHtml(plain, {});
    expect(html).toContain('<b>What was tested.</b> Client-side DNAT of a service VIP &lt;kube-proxy style&gt;.');
    expect(html).not.toContain('like a Cisco ASA');
    const v = variant('flag-off', '6.18.0', { complete: false, drops: 9 });
    v.middlebox.counters.sackBlocksUntranslated = 40;
    expect(renderHtml(run([v]), {})).toContain('like a Cisco ASA');
  });
  it("shows the client's be_liberal under a variant that sets it", () => {
    const v = variant('nat-liberal', '6.18.0', { complete: true, drops: 0 });
    v.client = { nstat: {}, serviceVip: '198.18.3.80', sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': '1' } };
    expect(renderHtml(run([v]), {})).toContain('be_liberal = 0 · client be_liberal = 1');
  });
});
