// matrix.html (one self-contained page: inline CSS, no script, nothing fetched) and summary.md
// (for CI job summaries). Everything from outside is escaped.
import { mdEscape } from '../report/markdown.js';
import { esc, hrefPath } from '../report/escape.js';
import { PAGE_CSS } from '../report/page.js';
import { relText } from './render.js';
import { shardLinesMarkdown, shardSectionHtml } from './shard-report.js';
import type { CellOutcome, MatrixCellResult, MatrixResult } from './result.js';
import { workloadProgress } from '../report/workload.js';

const n = (x: number) => Math.round(x).toLocaleString('en-US');
const mbps = (b: number) => `${(b / 1e6).toFixed(2)} MB/s`;

const OUTCOME_WORDS: Record<CellOutcome, string> = {
  clean: 'clean',
  degraded: 'degraded',
  broken: 'BROKEN',
  error: 'ERROR',
};

function find(m: MatrixResult, f: string, s: string): MatrixCellResult | undefined {
  return m.cells.find((c) => c.axes.firewall === f && c.axes.server === s);
}

function gridCell(m: MatrixResult, c: MatrixCellResult | undefined): string {
  if (!c) return '<td class="excluded" title="excluded">·</td>';
  const lines = [
    `<b>${esc(OUTCOME_WORDS[c.outcome])}</b>${m.control?.cell === c.name ? ' <span class="sub">(control)</span>' : ''}`,
    c.outcome === 'error'
      ? esc(c.error ?? '')
      : `${c.workload && c.workload.kind !== 'oai-pmh' ? esc(workloadProgress(c.workload)) : `${n(c.harvest.records)} / ${n(c.harvest.expectedRecords)} records`} · ${n(c.attempts.timedOut)} timed out`,
    c.outcome === 'error'
      ? ''
      : `${n(c.server.invalidDrops)} INVALID drops · conntrack invalid ${n(c.server.conntrackInvalid)}`,
    c.outcome === 'error'
      ? ''
      : `throughput ${esc(relText(c.throughputVsControl))} of control${c.comparedWith?.shard ? ` <span class="sub">(shard ${esc(c.comparedWith.shard)}'s run)</span>` : ''}`,
    c.expectations.length
      ? `<span class="${c.passed ? 'okline' : 'badline'}">${c.passed ? '✔' : '✘'} ${c.expectations.filter((e) => e.passed).length} of ${c.expectations.length} expectations</span>`
      : '<span class="sub">no expectation</span>',
  ].filter(Boolean);
  const link = c.report ? `<div><a href="${esc(hrefPath(c.report))}">report</a></div>` : '';
  return `<td class="cell ${c.outcome}${c.passed ? '' : ' failed'}" data-cell="${esc(c.name)}">${lines.map((l) => `<div>${l}</div>`).join('')}${link}</td>`;
}

export function grid(m: MatrixResult): string {
  const head = `<tr><th>firewall \\ server</th>${m.axes.server.map((s) => `<th>${esc(s)}</th>`).join('')}</tr>`;
  const body = m.axes.firewall
    .map(
      (f) => `<tr><th scope="row">${esc(f)}</th>${m.axes.server.map((s) => gridCell(m, find(m, f, s))).join('')}</tr>`,
    )
    .join('');
  return `<table class="grid"><thead>${head}</thead><tbody>${body}</tbody></table>`;
}

function details(m: MatrixResult): string {
  const rows = m.cells
    .map((c) => {
      const exp = c.expectations.length
        ? `<ul class="exp">${c.expectations
            .map(
              (e) =>
                `<li class="${e.passed ? 'ok' : 'fail'}"><b>${e.passed ? '✔' : '✘'}</b> <code>${esc(e.text)}</code> — measured ${esc(String(e.actual))}${e.why ? `<div class="sub">${esc(e.why)}</div>` : ''}</li>`,
            )
            .join('')}</ul>`
        : '–';
      const settings = Object.entries(c.settings)
        .map(([k, v]) => `${k.replace(/^net\.(ipv4|netfilter)\./, '')}=${v}`)
        .join(' ');
      return `<tr><th scope="row">${c.report ? `<a href="${esc(hrefPath(c.report))}">${esc(c.name)}</a>` : esc(c.name)}<div class="sub">${esc(settings)}</div></th><td>${esc(OUTCOME_WORDS[c.outcome])}</td><td class="num">${n(c.harvest.records)}</td><td class="num">${n(c.attempts.timedOut)}</td><td class="num">${n(c.server.invalidDrops)}</td><td class="num">${n(c.server.conntrackInvalid)}</td><td class="num">${esc(mbps(c.throughputBytesPerSec))}</td><td class="num">${esc(relText(c.throughputVsControl))}</td><td>${exp}${c.problems.map((p) => `<div class="badline">${esc(p)}</div>`).join('')}</td></tr>`;
    })
    .join('');
  return `<table class="list"><thead><tr><th>cell</th><th>outcome</th><th>records</th><th>timed out</th><th>INVALID drops</th><th>conntrack invalid</th><th>throughput</th><th>vs control</th><th>expectations</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export const MATRIX_CSS = `${PAGE_CSS}
main{max-width:1400px}.verdict{font-size:17px}ul.exp{margin:0}ul.exp li{padding:2px 0}
table.grid td{border:1px solid var(--line);min-width:190px;font-size:13px}table.grid td.clean{background:#e8f5e9}table.grid td.degraded{background:#fff8e1}
table.grid td.broken{background:#ffebee}table.grid td.error{background:#eceff1}table.grid td.failed{outline:3px solid var(--bad);outline-offset:-3px}
table.grid td.excluded{color:var(--muted);text-align:center;vertical-align:middle}
`;

export function renderMatrixHtml(m: MatrixResult): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>ctlab matrix: ${esc(m.scenario)}</title>
<style>${MATRIX_CSS}</style></head>
<body><main>
<h1>ctlab matrix: ${esc(m.scenario)}</h1>
<div class="meta">run ${esc(m.runId)} · started ${esc(m.startedAt)} · ${esc((m.durationMs / 1000).toFixed(1))} s · ${m.cells.length} cells, ${m.parallel} at a time · seed ${esc(m.seed)} · kernel ${esc(m.kernel)} · scenario file ${esc(m.scenarioFile)}</div>
<div class="verdict ${m.passed ? 'pass' : 'fail'}" id="verdict"><span class="status">${m.passed ? 'Every cell as predicted' : m.problems.length ? 'Inconclusive or failed cells' : 'A prediction failed'}</span>${esc(m.verdict)}</div>
<p class="what"><b>What was tested.</b> The same harvest through each firewall (rows: what the middlebox does to TCP) against each server configuration (columns: sysctls and the server's firewall). <b>BROKEN</b>: the harvest did not complete; <b>degraded</b>: it completed with timeouts or INVALID drops; <b>clean</b>: every record, no timeout, no INVALID drop. Throughput is relative to the control cell${m.control ? ` (<code>${esc(m.control.cell)}</code>)` : ''}, ${m.merged ? "measured in each cell's own shard against that shard's run of the control (see Shards)" : 'measured in the same run'}; a red frame marks a cell whose expectations failed. Each cell links to its own report, with captures.</p>
${m.problems.length ? `<div class="problems"><b>Problems</b><ul>${m.problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul></div>` : ''}
${shardSectionHtml(m)}
<h2 id="grid">Grid</h2>
${grid(m)}
<h2 id="cells">Cells</h2>
${details(m)}
</main></body></html>
`;
}

export function renderMatrixMarkdown(m: MatrixResult): string {
  const out: string[] = [];
  out.push(
    `## ctlab matrix: ${mdEscape(m.scenario)} — ${m.passed ? '✅ every cell as predicted' : '❌ not as predicted'}`,
    '',
  );
  out.push(`> ${mdEscape(m.verdict)}`, '');
  out.push(`| firewall \\\\ server | ${m.axes.server.map(mdEscape).join(' | ')} |`);
  out.push(`|---|${m.axes.server.map(() => '---').join('|')}|`);
  for (const f of m.axes.firewall) {
    const cells = m.axes.server.map((s) => {
      const c = find(m, f, s);
      if (!c) return '·';
      const mark = c.expectations.length ? (c.passed ? '✅' : '❌') : '';
      const detail =
        c.outcome === 'error'
          ? ''
          : c.outcome === 'broken'
            ? ` ${n(c.server.invalidDrops)} drops`
            : ` ${relText(c.throughputVsControl)}`;
      return `${mark} ${c.outcome === 'broken' ? '**BROKEN**' : OUTCOME_WORDS[c.outcome]}${detail}${m.control?.cell === c.name ? ' (control)' : ''}`.trim();
    });
    out.push(`| ${mdEscape(f)} | ${cells.join(' | ')} |`);
  }
  out.push('');
  const failed = m.cells.flatMap((c) =>
    c.expectations
      .filter((e) => !e.passed)
      .map((e) => `- ❌ ${mdEscape(c.name)}: \`${mdEscape(e.text)}\` — measured ${mdEscape(String(e.actual))}`),
  );
  if (failed.length) out.push('Failed expectations:', '', ...failed, '');
  for (const p of m.problems) out.push(`- ⚠️ ${mdEscape(p)}`);
  out.push(...shardLinesMarkdown(m));
  out.push(
    `Kernel ${mdEscape(m.kernel)}, seed ${m.seed}, ${m.cells.length} cells in ${(m.durationMs / 1000).toFixed(1)} s. Details: matrix.html, matrix.json.`,
    '',
  );
  return out.join('\n');
}
