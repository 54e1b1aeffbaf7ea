// report.html of a replay, in the look of every ctlab page (src/report/page.ts): the verdict,
// the runs side by side (kernels x settings), a timeline of the INVALID packets per run, the
// flows with their first INVALID packet, and what preprocessing did. Self-contained, no script.
import { esc } from '../report/escape.js';
import { PAGE_CSS } from '../report/page.js';
import { preprocessingLine } from './output.js';
import { runLabel, type ReplayResult, type ReplayRun } from './result.js';

const CSS = `${PAGE_CSS}
.tl{display:block;margin:4px 0 14px}.tl rect.bg{fill:var(--bg)}.tl line.c2s{stroke:#c62828}.tl line.s2c{stroke:#1565c0}
.grid td.bad{color:var(--bad);font-weight:600}.grid td.ok{color:var(--ok)}`;

/** One run's INVALID packets on the capture's time axis: red ticks from the client, blue from the server. */
function timeline(r: ReplayResult, x: ReplayRun, t0: number, t1: number): string {
  const W = 1000;
  const H = 34;
  const span = Math.max(1e-6, t1 - t0);
  const ticks = x.packetVerdicts
    .filter((v) => v.invalid)
    .map((v) => {
      const px = (((v.timeMs - t0) / span) * (W - 2) + 1).toFixed(1);
      return `<line class="${v.dir}" x1="${px}" x2="${px}" y1="${v.dir === 'c2s' ? 3 : 17}" y2="${v.dir === 'c2s' ? 17 : 31}"><title>${esc(`frame ${v.frame + 1}, flow ${v.flow} (${r.flows[v.flow - 1]?.client} → ${r.flows[v.flow - 1]?.server}), ${v.flags} seq ${v.seq} ack ${v.ack} len ${v.len}: ${v.reason ?? 'no reason logged'}`)}</title></line>`;
    });
  return `<svg class="tl" width="100%" viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label="${esc(`INVALID packets over time, ${runLabel(x, true)}`)}"><rect class="bg" x="0" y="0" width="${W}" height="${H}"/>${ticks.join('')}</svg>`;
}

export function renderReplayHtml(r: ReplayResult): string {
  const multi = r.options.kernels.length > 1;
  const name = r.capture.file.split('/').pop() ?? 'capture';
  // The whole capture's span (its packets are in capture order; timestamps may step back).
  const t0 = Math.min(r.preprocessing.firstTimeMs, r.preprocessing.lastTimeMs);
  const t1 = Math.max(r.preprocessing.firstTimeMs, r.preprocessing.lastTimeMs, t0 + 1);
  const kernels = r.options.kernels;
  const settings = r.options.settings;
  const cell = (k: string, s: string) => {
    const x = r.runs.find((y) => y.kernel === k && y.setting.name === s);
    if (!x) return '<td>-</td>';
    if (x.error) return `<td class="bad">failed: ${esc(x.error)}</td>`;
    return `<td class="${x.invalid ? 'bad' : 'ok'}">${x.invalid.toLocaleString('en-US')} INVALID in ${x.invalidFlows} flows<br><span class="sub">${esc(x.reasons.map((q) => `${q.reason} (${q.packets})`).join('; ') || (x.packetVerdicts.length ? `none INVALID; ${x.packetVerdicts.length} logged and let through: ${[...new Set(x.packetVerdicts.map((v) => v.reasonKind))].join('; ')}` : 'nothing logged'))}</span></td>`;
  };
  const grid = `<table class="grid"><tr><th>setting</th>${kernels.map((k) => `<th>${esc(k)}<br><span class="sub">${esc(r.runs.find((x) => x.kernel === k)?.release ?? '')}</span></th>`).join('')}</tr>${settings.map((s) => `<tr><th>${esc(s.name)}</th>${kernels.map((k) => cell(k, s.name)).join('')}</tr>`).join('')}</table>`;
  const tls = r.runs
    .filter((x) => !x.error)
    .map(
      (x) =>
        `<h3>${esc(runLabel(x, multi))}: ${x.invalid.toLocaleString('en-US')} INVALID</h3>${timeline(r, x, t0, t1)}`,
    )
    .join('');
  const flowRows = r.flows
    .map((f) => {
      const per = r.runs
        .filter((x) => !x.error)
        .map((x) => {
          const fv = x.flows.find((y) => y.flow === f.id);
          const p = fv?.firstInvalid;
          return `<td class="num">${fv?.invalid ?? 0}${p ? `<br><span class="sub">first: frame ${p.frame + 1}, ${esc(p.reason ?? 'no reason logged')}</span>` : ''}</td>`;
        })
        .join('');
      return `<tr><td class="num">${f.id}</td><td>${esc(f.client)}</td><td>${esc(f.server)}</td><td>${f.packets}</td><td>${f.pickedUp ? 'yes' : 'no'}</td>${per}</tr>`;
    })
    .join('');
  const runHeads = r.runs
    .filter((x) => !x.error)
    .map((x) => `<th>${esc(runLabel(x, multi))}</th>`)
    .join('');
  const exp = r.expectations.length
    ? `<h2>Expectations</h2><ul class="exp">${r.expectations
        .map(
          (e) =>
            `<li class="${e.passed ? 'ok' : 'fail'}"><b>${e.passed ? 'ok' : 'FAIL'}</b> <code>${esc(e.text)}</code>: ${esc(
              Object.entries(e.actual)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ') || 'no run it applies to',
            )}</li>`,
        )
        .join('')}</ul>`
    : '';
  const problems = r.problems.length
    ? `<div class="problems"><b>Problems</b><ul>${r.problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul></div>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ctlab replay: ${esc(name)}</title><style>${CSS}</style></head>
<body><main>
<h1>ctlab replay: ${esc(name)}</h1>
<p class="meta">${esc(r.startedAt)} · ${r.flows.length} flows · ${r.preprocessing.replayed.toLocaleString('en-US')} TCP packets · ctlab ${esc(r.ctlabVersion)} · sha256 ${esc(r.capture.sha256.slice(0, 16))}</p>
<div class="verdict ${r.passed ? 'pass' : 'fail'}"><span class="status">${r.passed ? 'passed' : 'failed'}</span>${esc(r.verdict)}</div>
${problems}
<p class="what">Each packet of the capture was played, in capture order, through a router namespace's conntrack: the client's packets on one interface, the server's on the other, so conntrack saw each direction arrive as on the wire. INVALID means a <code>--ctstate INVALID -j DROP</code> rule would have dropped the packet. ${esc(preprocessingLine(r))}. Addresses were replayed mapped one-to-one into 198.18.0.0/15; this page shows the captured ones.</p>
<h2>Kernels and settings side by side</h2>${grid}
${exp}
<h2>Timeline of the INVALID packets</h2><p class="sub">The capture's time from its first replayed packet (0 s) to its last (${((t1 - t0) / 1000).toFixed(3)} s); upper row (red): client → server, lower row (blue): server → client. Hover for the packet and conntrack's reason.</p>${tls || '<p>No INVALID packet in any run.</p>'}
<h2>Flows</h2><table><tr><th>flow</th><th>client</th><th>server</th><th>packets</th><th>no SYN (picked up)</th>${runHeads}</tr>${flowRows}</table>
</main></body></html>
`;
}
