// summary.md: the verdict, the side-by-side table and the expectations, for CI job summaries
// (GitHub's $GITHUB_STEP_SUMMARY renders Markdown with inline HTML, so outside text is escaped).
import type { VariantEvidence } from '../evidence/types.js';
import { variantDir } from '../evidence/run.js';
import { BE_LIBERAL } from '../scenario/model.js';
import { fmtRate } from './charts.js';
import { headline } from './diagnosis.js';
import { compareKernels, differenceSentences, emulationCaveat, kernelsOf, notesFor, variantLabel } from './kernels.js';
import type { RunResult, VariantResult } from '../result/types.js';
import { completeLabel, progressRow, workloadComplete } from './workload.js';

/** Outside text inside Markdown (table cells included): no HTML, no table breaks, no emphasis. */
export function mdEscape(s: unknown): string {
  return String(s ?? '')
    .replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!) // only the table's keys match
    .replace(/([\\`*_[\]|#])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');
const ms = (x: number | null) => (x == null ? '–' : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`);

export function renderMarkdown(r: RunResult, ev: Record<string, VariantEvidence | undefined> = {}): string {
  const label = (v: VariantResult) => variantLabel(r, v);
  const good = r.passed && r.problems.length === 0;
  const out: string[] = [];
  out.push(
    `## ctlab: ${mdEscape(r.scenario)} — ${good ? '✅ every expectation met' : r.problems.length ? '⚠️ inconclusive' : '❌ an expectation failed'}`,
  );
  out.push('');
  out.push(`> ${mdEscape(r.verdict)}`);
  out.push('');
  const progress = progressRow(r.variants);
  const complete = completeLabel(r.variants);
  const rows: [string, (v: VariantResult) => string][] = [
    ['be_liberal', (v) => v.sysctls[BE_LIBERAL] ?? '–'],
    [progress.label, progress.cell],
    [complete, (v) => (workloadComplete(v) ? 'yes' : '**NO**')],
    ['attempts', (v) => n(v.attempts.total)],
    [
      'timed out',
      (v) => `${n(v.attempts.timedOut)} (connect ${v.attempts.connectTimeouts}, read ${v.attempts.readTimeouts})`,
    ],
    ['retries', (v) => n(v.attempts.retries)],
    ['request p50 / p99', (v) => `${ms(v.requestMs.p50)} / ${ms(v.requestMs.p99)}`],
    ['throughput', (v) => fmtRate(v.throughputBytesPerSec)],
    ['INVALID drops (firewall)', (v) => n(v.server.invalidDrops)],
    ['conntrack invalid', (v) => n(v.server.conntrackInvalid)],
    [
      'client conntrack invalid (NAT)',
      (v) =>
        v.client.serviceVip
          ? `${n(v.client.conntrackInvalid ?? 0)}${v.client.invalidDrops != null ? ` (${n(v.client.invalidDrops)} dropped)` : ''}`
          : '–',
    ],
    ['server connections reset', (v) => n(v.server.nstat.TcpEstabResets ?? 0)],
    [
      'server retransmits / RTOs',
      (v) => `${n(v.server.nstat.TcpRetransSegs ?? 0)} / ${n(v.server.nstat.TcpExtTCPTimeouts ?? 0)}`,
    ],
    ['SACK blocks untranslated', (v) => n(Number(v.middlebox.counters.sackBlocksUntranslated ?? 0))],
    ['NFQUEUE drops', (v) => n(v.middlebox.queueDrops)],
  ];
  out.push(`| | ${r.variants.map((v) => mdEscape(label(v))).join(' | ')} |`);
  out.push(`|---|${r.variants.map(() => '---:').join('|')}|`);
  for (const [l, f] of rows)
    out.push(`| ${l} | ${r.variants.map((v) => (l === complete ? f(v) : mdEscape(f(v)))).join(' | ')} |`);
  out.push('');
  out.push('### Expectations');
  out.push('');
  for (const v of r.variants) {
    for (const e of v.expectations)
      out.push(
        `- ${e.passed ? '✅' : '❌'} ${mdEscape(label(v))}: ${mdEscape(e.text)} — measured ${mdEscape(String(e.actual))}`,
      );
  }
  if (r.variants.every((v) => v.expectations.length === 0)) out.push('- (none declared)');
  const why = r.variants
    .map((v) => ({ v, e: ev[variantDir(r, v)] }))
    .flatMap(({ v, e }) =>
      e && (e.reasons.length > 0 || (e.clientReasons?.length ?? 0) > 0 || e.attempts.some((a) => a.outcome !== 'ok'))
        ? [{ v, e }]
        : [],
    );
  if (why.length > 0) {
    out.push('');
    out.push('### Why packets died');
    out.push('');
    for (const { v, e } of why) {
      out.push(`**${mdEscape(label(v))}**: ${headline(e).map(mdEscape).join(' ')}`);
      out.push('');
    }
  }
  const ks = kernelsOf(r);
  if (ks.length > 1) {
    out.push('');
    out.push('### Kernels');
    out.push('');
    const c = compareKernels(r, ev, (v) => variantDir(r, v));
    for (const k of r.kernelRuns ?? [])
      out.push(
        `- \`${mdEscape(k.spec)}\` → ${mdEscape(k.release)} (${k.vm ? `VM, ${k.vm.accel}` : 'native'}, ${(k.totalMs / 1000).toFixed(1)} s): ${mdEscape(k.error ?? k.verdict)}`,
      );
    for (const d of differenceSentences(c)) out.push(`- ${mdEscape(d)}`);
    const caveat = emulationCaveat(r.kernelRuns);
    if (caveat) out.push(`- ${mdEscape(caveat)}`);
  }
  for (const k of ks.length ? ks : [r.kernel]) {
    const notes = notesFor(k);
    if (notes.length) {
      out.push('');
      out.push(`Kernel ${mdEscape(k)}: ${notes.map((x) => mdEscape(x.text)).join(' ')}`);
    }
  }
  if (r.problems.length > 0) {
    out.push('');
    out.push('### Problems');
    out.push('');
    for (const p of r.problems) out.push(`- ${mdEscape(p)}`);
  }
  out.push('');
  out.push('The full report (charts, per-connection diagnosis, captures) is `report.html` in the run folder.');
  out.push('');
  return out.join('\n');
}
