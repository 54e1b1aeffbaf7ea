// The shard notes of a matrix page and summary: for a shard's own folder, which cells it owns and
// which control it ran; for a merged matrix, where each cell ran and which control run its
// throughput ratio was taken against. Everything from outside is escaped.
import { mdEscape } from '../report/markdown.js';
import { esc, hrefPath } from '../report/escape.js';
import type { MatrixResult, MergedShardNote } from './result.js';

const mbps = (b: number | null) => (b === null ? 'did not complete' : `${(b / 1e6).toFixed(2)} MB/s`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function controlText(n: MergedShardNote): string {
  return (
    n.control
      .map(
        (c) =>
          `${c.kernel ? `${c.kernel}: ` : ''}${c.cell} ${mbps(c.throughputBytesPerSec)}${c.owned ? '' : ' (baseline only)'}`,
      )
      .join('; ') || 'no control'
  );
}

/** The HTML section ('' for an ordinary, unsharded matrix). */
export function shardSectionHtml(m: Pick<MatrixResult, 'merged' | 'shard' | 'controlOnly'>): string {
  if (m.merged) {
    const rows = m.merged.shards
      .map(
        (s) =>
          `<tr><th scope="row">${s.index}/${s.count}</th><td>${esc(s.runId)}</td><td>${esc(s.kernel)}</td><td>${s.cells.map((c) => `<code>${esc(c)}</code>`).join(' ')}</td><td>${esc(controlText(s))}${s.control
            .flatMap((c) => {
              const href = c.report ?? c.dir;
              return href ? [` <a href="${esc(hrefPath(href))}">${c.report ? 'report' : 'run folder'}</a>`] : [];
            })
            .join('')}</td><td class="num">${esc(secs(s.durationMs))}</td><td>${esc(s.from)}</td></tr>`,
      )
      .join('');
    return `<h2 id="shards">Shards</h2>
<p>Merged from ${m.merged.shards.length} shards (<code>ctlab matrix --shard i/n</code>, then <code>ctlab merge</code>). Throughput: ${esc(m.merged.throughput)}, so that shards on machines of different speed stay comparable; the grid names the shard whose control each ratio used.</p>
<table class="list"><thead><tr><th>shard</th><th>run</th><th>kernel</th><th>cells it owns</th><th>its control run</th><th>time</th><th>merged from</th></tr></thead><tbody>${rows}</tbody></table>`;
  }
  if (m.shard) {
    const extra = m.controlOnly
      ? ` It also ran the control <code>${esc(m.controlOnly.cell)}</code> (${esc(mbps(m.controlOnly.throughputBytesPerSec))}) as its throughput baseline${m.controlOnly.report ? ` (<a href="${esc(hrefPath(m.controlOnly.report))}">report</a>)` : ''}; that run is not one of its cells.`
      : '';
    return `<h2 id="shard">Shard ${m.shard.index} of ${m.shard.count}</h2>
<p>This folder is one shard: it owns ${m.shard.cells.length} of the grid's ${m.shard.total} cells (${m.shard.cells.map((c) => `<code>${esc(c)}</code>`).join(' ') || 'none'}); the grid shows only those.${extra} Merge the shards with <code>ctlab merge</code>.</p>`;
  }
  return '';
}

/** Markdown lines for summary.md ([] for an ordinary matrix). */
export function shardLinesMarkdown(m: Pick<MatrixResult, 'merged' | 'shard' | 'controlOnly'>): string[] {
  if (m.merged) {
    return [
      `Merged from ${m.merged.shards.length} shards; throughput: ${mdEscape(m.merged.throughput)}.`,
      '',
      ...m.merged.shards.map(
        (s) =>
          `- shard ${s.index}/${s.count} (run ${mdEscape(s.runId)}, kernel ${mdEscape(s.kernel)}, ${secs(s.durationMs)}): ${s.cells.map(mdEscape).join(', ') || 'no cell'}; control ${mdEscape(controlText(s))}`,
      ),
      '',
    ];
  }
  if (m.shard) {
    return [
      `Shard ${m.shard.index}/${m.shard.count}: ${m.shard.cells.length} of ${m.shard.total} cells${m.controlOnly ? `, and the control ${mdEscape(m.controlOnly.cell)} as its throughput baseline (${mbps(m.controlOnly.throughputBytesPerSec)})` : ''}. Merge the shards with \`ctlab merge\`.`,
      '',
    ];
  }
  return [];
}
