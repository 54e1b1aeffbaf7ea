// report.html: one self-contained page (inline CSS and SVG, no fetch, no external anything)
// that tells a reader who was not there what happened and why each packet died.
import type { Outcome, VariantEvidence } from '../evidence/types.js';
import { variantDir } from '../evidence/run.js';
import { BE_LIBERAL } from '../scenario/model.js';
import { attemptsChart, barsChart, fmtRate, legend, OUTCOME_COLOURS, rebucket } from './charts.js';
import { esc, hrefPath } from './escape.js';
import { PAGE_CSS } from './page.js';
import { dropNote, flowSentence, headline, mismatchSentence, NSTAT_MEANINGS } from './diagnosis.js';
import { compareKernels, differenceSentences, emulationCaveat, kernelsOf, notesFor, variantLabel } from './kernels.js';
import type { RunResult, VariantResult } from '../result/types.js';
import { workloadKind } from '../result/metrics.js';
import { completeLabel, progressWords, workloadComplete, workloadNoun } from './workload.js';

const n = (x: number) => Math.round(x).toLocaleString('en-US');
const ms = (x: number | null) => (x == null ? '–' : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`);

/** What each kept file holds, for the links section. */
export const FILE_DESCRIPTIONS: Record<string, string> = {
  'client.pcap':
    'packets on the client side of the middlebox (the sequence numbers the client sees); opens in Wireshark',
  'server.pcap':
    'packets on the server side of the middlebox (what the server and its conntrack judged); opens in Wireshark',
  'invalid-reasons.pcap':
    "every packet conntrack judged INVALID, with the kernel's reason as the NFLOG prefix; opens in Wireshark (column nflog.prefix)",
  'client-invalid-reasons.pcap':
    "every packet the client's conntrack (its NAT) logged with a reason, the kernel's reason as the NFLOG prefix; opens in Wireshark (column nflog.prefix)",
  'invalid-drops.pcap':
    "the packets the server firewall's INVALID rule dropped (NFLOG prefix ctlab-invalid); opens in Wireshark",
  'events.jsonl': "the client's HTTP attempts (the harvester's), one JSON line each, and its summary",
  'service-access.log':
    "the server's HTTP service's access log (JSON lines, nginx's fields plus the body bytes it read): what the server believes it sent and got",
  'service.log': "the server's HTTP service's own log",
  'command-stdout.txt': "the command's standard output, whole",
  'command-stderr.txt': "the command's standard error, whole",
  'middlebox-flows.jsonl':
    "the middlebox's record of each TCP flow: sequence offsets, SACK blocks left untranslated, drops",
  'middlebox-counters.json': "the middlebox's counters",
  'nginx-access.log': "nginx's access log (JSON lines): what the server believes it sent",
  'server-iptables.txt': "the server firewall's rule counters (iptables -L -v -x -n)",
  'server-conntrack-stats.txt': 'conntrack -S on the server',
  'server-nstat.txt': "the server's TCP counters (nstat -az)",
  'client-nstat.txt': "the client's TCP counters (nstat -az)",
  'harvester.log': "the harvester's log",
  'middlebox.log': "the middlebox's log",
  'topology.json': 'the lab as planned: hosts, links, commands',
};

function label(r: RunResult, v: VariantResult): string {
  return variantLabel(r, v);
}

/** The scenario's own words, then the plain-words story of the SACK class when this run showed it. */
function whatWasTested(r: RunResult): string {
  const sack = r.variants.some((v) => Number(v.middlebox.counters.sackBlocksUntranslated ?? 0) > 0);
  const story = sack
    ? " A firewall in the middle (like a Cisco ASA) rewrites TCP sequence numbers but not the SACK blocks inside acknowledgements. The server's Linux connection tracking then sees acknowledgements for data that, as far as it knows, was never sent, marks them INVALID, and the server's firewall silently drops them, so downloads stall and clients time out while the web server's own log looks clean."
    : '';
  const what = r.description ? esc(r.description.trim()) : `the scenario ${esc(r.scenario)}`;
  return `<p class="what"><b>What was tested.</b> ${what}${esc(story)} Each column below is the same ${r.variants[0] ? esc(workloadNoun(r.variants[0]).replace(/^the /, '')) : 'harvest'} with the settings of one variant (its name, and the server's and client's <code>be_liberal</code> under it).</p>`;
}

function flagText(v: VariantResult): string {
  const f = v.sysctls[BE_LIBERAL];
  const c = v.client.serviceVip ? v.client.sysctls?.[BE_LIBERAL] : undefined;
  return [f === undefined ? '' : `be_liberal = ${f}`, c === undefined ? '' : `client be_liberal = ${c}`]
    .filter(Boolean)
    .join(' · ');
}

function table(r: RunResult): string {
  const rows: [string, (v: VariantResult) => string, ((v: VariantResult) => boolean)?][] = [
    ['nf_conntrack_tcp_be_liberal', (v) => esc(v.sysctls[BE_LIBERAL] ?? '–')],
    [
      r.variants.every((v) => workloadKind(v) === 'oai-pmh') ? 'Records harvested' : 'Workload',
      (v) => (workloadKind(v) === 'oai-pmh' ? progressWords(v).replace(/ records$/, '') : esc(progressWords(v))),
      (v) => !workloadComplete(v),
    ],
    [
      completeLabel(r.variants).replace(/^./, (c) => c.toUpperCase()),
      (v) => (workloadComplete(v) ? 'yes' : 'NO'),
      (v) => !workloadComplete(v),
    ],
    ['Attempts', (v) => n(v.attempts.total)],
    [
      'Timed-out attempts',
      (v) =>
        `${n(v.attempts.timedOut)} <span class="sub">(connect ${v.attempts.connectTimeouts}, read ${v.attempts.readTimeouts})</span>`,
      (v) => v.attempts.timedOut > 0,
    ],
    ['Retries', (v) => n(v.attempts.retries)],
    ['Connect time p50 / p99', (v) => `${ms(v.connectMs.p50)} / ${ms(v.connectMs.p99)}`],
    ['Request time p50 / p99', (v) => `${ms(v.requestMs.p50)} / ${ms(v.requestMs.p99)}`],
    ['Throughput', (v) => fmtRate(v.throughputBytesPerSec)],
    [
      r.variants.every((v) => workloadKind(v) === 'oai-pmh') ? 'Harvest time' : 'Workload time',
      (v) => ms(v.durationMs),
    ],
    ['Packets dropped as INVALID (firewall)', (v) => n(v.server.invalidDrops), (v) => v.server.invalidDrops > 0],
    ['conntrack INVALID (conntrack -S)', (v) => n(v.server.conntrackInvalid), (v) => v.server.conntrackInvalid > 0],
    [
      'conntrack INVALID at the client (its NAT)',
      (v) =>
        v.client.serviceVip
          ? `${n(v.client.conntrackInvalid ?? 0)}${v.client.invalidDrops != null ? ` <span class="sub">(${n(v.client.invalidDrops)} dropped)</span>` : ''}`
          : '–',
      (v) => !!v.client.serviceVip && v.client.invalidDrops == null && (v.client.conntrackInvalid ?? 0) > 0,
    ],
    [
      'Server connections reset',
      (v) => n(v.server.nstat.TcpEstabResets ?? 0),
      (v) => (v.server.nstat.TcpEstabResets ?? 0) > 0,
    ],
    ['Server retransmissions', (v) => n(v.server.nstat.TcpRetransSegs ?? 0)],
    ['Server retransmission timeouts', (v) => n(v.server.nstat.TcpExtTCPTimeouts ?? 0)],
    ['SACK blocks the server discarded', (v) => n(v.server.nstat.TcpExtTCPSACKDiscard ?? 0)],
    ['Packets through the middlebox', (v) => n(Number(v.middlebox.counters.packetsSeen ?? 0))],
    ['Dropped on purpose by the path (loss model)', (v) => n(Number(v.middlebox.counters.droppedByLoss ?? 0))],
    ['SACK blocks left untranslated', (v) => n(Number(v.middlebox.counters.sackBlocksUntranslated ?? 0))],
    [
      'Packets held back on purpose (late-packet model)',
      (v) => n(Number(v.middlebox.counters.lateClientAcks ?? 0) + Number(v.middlebox.counters.lateServerData ?? 0)),
    ],
    ['NFQUEUE drops (must be 0)', (v) => n(v.middlebox.queueDrops), (v) => v.middlebox.queueDrops > 0],
    [
      'Expectations met',
      (v) =>
        v.expectations.length === 0
          ? '–'
          : `${v.expectations.filter((e) => e.passed).length} of ${v.expectations.length}`,
      (v) => v.expectations.some((e) => !e.passed),
    ],
  ];
  const head = `<tr><th></th>${r.variants.map((v) => `<th>${esc(label(r, v))}<div class="sub">${esc(flagText(v))}</div></th>`).join('')}</tr>`;
  const body = rows
    .map(
      ([l, f, bad]) =>
        `<tr><th scope="row">${esc(l)}</th>${r.variants.map((v) => `<td${bad?.(v) ? ' class="bad"' : ''}>${f(v)}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<table class="side"><thead>${head}</thead><tbody>${body}</tbody></table>`;
}

function expectations(r: RunResult): string {
  const items = r.variants.flatMap((v) =>
    v.expectations.map(
      (e) =>
        `<li class="${e.passed ? 'ok' : 'fail'}"><b>${e.passed ? '✔ met' : '✘ FAILED'}</b> ${esc(label(r, v))}: <code>${esc(e.text)}</code> — measured ${esc(String(e.actual))}</li>`,
    ),
  );
  return items.length ? `<ul class="exp">${items.join('')}</ul>` : '<p>No expectation was declared.</p>';
}

function actionsSection(r: RunResult): string {
  const items = r.variants.flatMap((v) =>
    (v.actions ?? []).map((a) => {
      const when =
        a.ranAtMs === null
          ? 'never ran'
          : `ran ${(a.ranAtMs / 1000).toFixed(2)} s into the harvest (due at ${(a.atMs / 1000).toFixed(2)} s)`;
      const flushed =
        a.flushedEntries === undefined
          ? ''
          : `, deleting ${n(a.flushedEntries)} conntrack entr${a.flushedEntries === 1 ? 'y' : 'ies'}`;
      return `<li class="${a.ok ? 'ok' : 'fail'}"><b>${a.ok ? '✔' : '✘ failed'}</b> ${esc(label(r, v))}: <code>${esc(a.text)}</code> on ${esc(a.node)} ${esc(when)}${esc(flushed)}</li>`;
    }),
  );
  return items.length ? `<h3>Actions during the harvest</h3><ul class="exp">${items.join('')}</ul>` : '';
}

function charts(r: RunResult, ev: Record<string, VariantEvidence | undefined>): string {
  const list = r.variants.map((v) => ({ v, e: ev[variantDir(r, v)] }));
  const xMaxMs = Math.max(1000, ...list.map(({ e, v }) => e?.durationMs ?? v.durationMs));
  const cols = Math.max(1, list.length);
  const width = cols === 1 ? 900 : cols === 2 ? 540 : 360;
  const maxPages = Math.max(1, ...list.map(({ e }) => new Set(e?.series.attempts.map((s) => s.page) ?? []).size));
  const attemptsHeight = Math.min(320, Math.max(140, 70 + 16 * maxPages));
  // One bucket size and one y scale for all variants, so the charts side by side compare.
  const bucketMs = Math.max(1, ...list.map(({ e }) => e?.series.bucketMs ?? 1));
  // tp and dr have an entry for every e of list, which is what row() hands to the charts below.
  const tp = new Map(
    list.map(({ e }) => [e, e ? rebucket(e.series.throughput, e.series.bucketMs, bucketMs, 'rate') : []]),
  );
  const dr = new Map(
    list.map(({ e }) => [e, e ? rebucket(e.series.invalidDrops, e.series.bucketMs, bucketMs, 'count') : []]),
  );
  const tpMax = Math.max(0, ...[...tp.values()].flat().map((p) => p.value));
  const dropMax = Math.max(0, ...[...dr.values()].flat().map((p) => p.value));
  const row = (title: string, explain: string, cell: (v: VariantResult, e: VariantEvidence) => string) =>
    `<h3>${esc(title)}</h3><p class="explain">${esc(explain)}</p><div class="row">${list
      .map(
        ({ v, e }) =>
          `<figure><figcaption>${esc(label(r, v))} <span class="sub">${esc(flagText(v))}</span></figcaption>${e ? cell(v, e) : '<p class="empty">no evidence</p>'}</figure>`,
      )
      .join('')}</div>`;
  const outcomes = [...new Set(list.flatMap(({ e }) => e?.series.attempts.map((s) => s.outcome) ?? []))] as Outcome[];
  outcomes.sort((a, b) => Object.keys(OUTCOME_COLOURS).indexOf(a) - Object.keys(OUTCOME_COLOURS).indexOf(b));
  return [
    row(
      'Attempts over time',
      'Each bar is one request for one page, from its start to its end, coloured by how it ended. Same time scale on both sides.',
      (_v, e) =>
        attemptsChart(e.series.attempts, {
          width,
          height: attemptsHeight,
          xMaxMs,
          title: `Attempts (${e.attempts.length})`,
        }),
    ) + legend(outcomes),
    row(
      'Data received over time',
      'Bytes per second reaching the client (from the client-side capture). A healthy harvest keeps this up; a stalled one drops to zero while the client waits.',
      (_v, e) =>
        barsChart(
          tp.get(e)!,
          bucketMs,
          { width, height: 200, xMaxMs, yMax: tpMax, title: `Received (${e.series.throughputSource})` },
          { kind: 'throughput', colour: '#1565c0', yFmt: fmtRate, unit: '', emptyText: 'no data received' },
        ),
    ),
    row(
      'Packets dropped as INVALID over time',
      `Packets the server's firewall dropped because conntrack judged them INVALID, per ${bucketMs >= 1000 ? `${bucketMs / 1000} s` : `${bucketMs} ms`}.`,
      (_v, e) =>
        barsChart(
          dr.get(e)!,
          bucketMs,
          { width, height: 200, xMaxMs, yMax: dropMax, title: `INVALID drops (${n(e.drops.captured)})` },
          {
            kind: 'invalid-drops',
            colour: '#c62828',
            yFmt: (x) => n(x),
            unit: ' packets',
            emptyText: 'no packet dropped',
          },
        ),
    ),
  ].join('');
}

function reasonsSection(r: RunResult, ev: Record<string, VariantEvidence | undefined>): string {
  return r.variants
    .map((v) => {
      const e = ev[variantDir(r, v)];
      if (!e) return '';
      const rows = e.reasons.length
        ? `<table class="list"><thead><tr><th>conntrack's reason</th><th>judged INVALID</th><th>dropped by the firewall</th></tr></thead><tbody>${e.reasons
            .map(
              (x) =>
                `<tr><td>${esc(x.reason)}</td><td class="num">${n(x.judged)}</td><td class="num">${n(x.dropped)}</td></tr>`,
            )
            .join('')}</tbody></table>`
        : '<p>conntrack judged no packet INVALID.</p>';
      const acc = `<p class="${e.drops.accounted ? 'okline' : 'badline'}">${e.drops.accounted ? '✔' : '✘'} ${esc(dropNote(e.drops))}</p>`;
      return `<h3>${esc(label(r, v))} <span class="sub">${esc(flagText(v))}</span></h3>${rows}${acc}${clientReasons(e)}`;
    })
    .join('');
}

/** The client's conntrack (its NAT), when the run captured its reasons. */
function clientReasons(e: VariantEvidence): string {
  if (!e.clientReasons) return '';
  const c = e.clientCounters;
  const rows = e.clientReasons.length
    ? `<table class="list"><thead><tr><th>conntrack's reason</th><th>logged</th><th>dropped by the client's INVALID rule</th></tr></thead><tbody>${e.clientReasons
        .map(
          (x) =>
            `<tr><td>${esc(x.reason)}</td><td class="num">${n(x.judged)}</td><td class="num">${c?.invalidDrops == null ? '–' : n(x.dropped)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : "<p>The client's conntrack logged no packet with a reason.</p>";
  const logged = e.clientReasons.reduce((a, x) => a + x.judged, 0);
  const facts: string[] = [];
  if (c?.conntrackInvalid != null) {
    facts.push(
      c.conntrackInvalid === 0 && logged > 0
        ? `conntrack -S counted none INVALID at the client: the ${n(logged)} logged packets were let through (ignored), not INVALID.`
        : `conntrack -S counted ${n(c.conntrackInvalid)} INVALID at the client (the log is rate-limited, so it may hold fewer).`,
    );
  }
  facts.push(
    c?.invalidDrops == null
      ? 'The client has no INVALID drop rule: INVALID packets went on to its TCP without reverse NAT.'
      : `The client's INVALID rule dropped ${n(c.invalidDrops)} packets (it logs none, so per reason only when every INVALID packet was logged and dropped).`,
  );
  return `<h4>at the client's conntrack (its NAT)</h4>${rows}<p>${facts.map(esc).join(' ')}</p>`;
}

const MAX_FLOWS = 40;

function flowsSection(r: RunResult, ev: Record<string, VariantEvidence | undefined>): string {
  const out: string[] = [];
  for (const v of r.variants) {
    const e = ev[variantDir(r, v)];
    if (!e) continue;
    const failed = e.flows.filter((f) => f.outcome !== null && f.outcome !== 'ok');
    const orphanDrops = e.flows.filter((f) => f.outcome === null && f.invalidDrops > 0);
    const shown = [...failed, ...orphanDrops];
    out.push(`<h3>${esc(label(r, v))} <span class="sub">${esc(flagText(v))}</span></h3>`);
    out.push(
      `<ul class="summary">${headline(e)
        .map((s) => `<li>${esc(s)}</li>`)
        .join('')}</ul>`,
    );
    if (shown.length === 0) {
      out.push('<p>No attempt failed.</p>');
      continue;
    }
    out.push(
      `<ol class="flows">${shown
        .slice(0, MAX_FLOWS)
        .map((f) => `<li data-flow="${f.ordinal}">${esc(flowSentence(f, e.attempts))}</li>`)
        .join('')}</ol>`,
    );
    if (shown.length > MAX_FLOWS)
      out.push(`<p>…and ${n(shown.length - MAX_FLOWS)} more (see the evidence in result.json).</p>`);
  }
  return out.join('');
}

function nginxSection(r: RunResult, ev: Record<string, VariantEvidence | undefined>): string {
  return r.variants
    .map((v) => {
      const e = ev[variantDir(r, v)];
      if (!e) return '';
      const head = `<p><b>${esc(label(r, v))}</b>: nginx logged ${n(e.nginx.requests)} request${e.nginx.requests === 1 ? '' : 's'} (${n(e.nginx.complete)} complete); the client made ${n(e.attempts.length)} attempt${e.attempts.length === 1 ? '' : 's'}.</p>`;
      const ms = e.nginx.mismatches;
      return (
        head +
        (ms.length
          ? `<ul>${ms
              .slice(0, MAX_FLOWS)
              .map((m) => `<li>${esc(mismatchSentence(m, e.attempts))}</li>`)
              .join('')}</ul>`
          : '<p class="okline">Every attempt the client made matches what nginx logged.</p>')
      );
    })
    .join('');
}

function nstatSection(r: RunResult, ev: Record<string, VariantEvidence | undefined>): string {
  const list = r.variants.map((v) => ({ v, e: ev[variantDir(r, v)] }));
  const names = list[0]?.e ? NSTAT_MEANINGS.map(([name]) => name) : [];
  const rows = names.filter((name) =>
    list.some(({ e }) => e?.nstat.some((c) => c.name === name && (c.server > 0 || c.client > 0))),
  );
  if (rows.length === 0) return '<p>No TCP counter moved.</p>';
  const head = `<tr><th>counter</th>${list.map(({ v }) => `<th colspan="2">${esc(label(r, v))}</th>`).join('')}</tr><tr><th></th>${list.map(() => '<th>server</th><th>client</th>').join('')}</tr>`;
  const body = rows
    .map((name) => {
      const meaning = NSTAT_MEANINGS.find(([x]) => x === name)?.[1] ?? '';
      return `<tr><td><code>${esc(name)}</code><div class="sub">${esc(meaning)}</div></td>${list
        .map(({ e }) => {
          const c = e?.nstat.find((x) => x.name === name);
          return `<td class="num">${c ? n(c.server) : '–'}</td><td class="num">${c ? n(c.client) : '–'}</td>`;
        })
        .join('')}</tr>`;
    })
    .join('');
  const re = list
    .map(({ v, e }) =>
      e
        ? `<li>${esc(label(r, v))}: ${e.retransmissions.serverPcap === null ? 'no server capture' : `${n(e.retransmissions.serverPcap)} retransmitted segments in server.pcap`} (the server's kernel counted ${n(v.server.nstat.TcpRetransSegs ?? 0)}; a capture counts a segment the kernel split or merged differently)</li>`
        : '',
    )
    .join('');
  return `<table class="list">${head}${body}</table><ul>${re}</ul>`;
}

function filesSection(r: RunResult): string {
  return r.variants
    .map((v) => {
      const d = variantDir(r, v);
      const files = Object.values(v.files).sort(
        (a, b) => Number(b.endsWith('.pcap')) - Number(a.endsWith('.pcap')) || a.localeCompare(b),
      );
      return `<h3>${esc(label(r, v))}</h3><ul class="files">${files
        .map(
          (f) =>
            `<li><a href="${esc(hrefPath(`${d}/${f}`))}">${esc(`${d}/${f}`)}</a> — ${esc(FILE_DESCRIPTIONS[f] ?? 'kept for reference')}</li>`,
        )
        .join('')}</ul>`;
    })
    .join('');
}

function kernelSection(r: RunResult, ev: Record<string, VariantEvidence | undefined>): string {
  const ks = kernelsOf(r);
  const notes = (k: string) =>
    `<ul class="summary">${notesFor(k)
      .map((x) => `<li>${esc(x.text)}</li>`)
      .join('')}</ul>`;
  if (ks.length <= 1) {
    const k = ks[0] ?? r.kernel;
    return `<p>This run used kernel <code>${esc(k)}</code>. What that kernel's conntrack is known to do here:</p>${notes(k)}`;
  }
  const c = compareKernels(r, ev, (v) => variantDir(r, v));
  const head = `<tr><th></th>${c.kernels.map((k) => `<th>${esc(k)}</th>`).join('')}</tr>`;
  const body = c.rows
    .map(
      (row) =>
        `<tr><th scope="row">${esc(row.name)}</th>${row.cells
          .map((cell) => {
            if (!cell) return '<td>–</td>';
            const v = cell.variant;
            const bad = !workloadComplete(v) || v.server.invalidDrops > 0;
            const reasons = [
              ...[...cell.reasons.entries()].sort((a, b) => b[1] - a[1]).map(([re, k]) => `${n(k)} × ${esc(re)}`),
              ...[...cell.clientReasons.entries()]
                .sort((a, b) => b[1] - a[1])
                .map(([re, k]) => `client: ${n(k)} × ${esc(re)}`),
            ];
            return `<td${bad ? ' class="bad"' : ''}>${esc(progressWords(v))} · ${n(v.attempts.timedOut)} timed out · ${n(v.server.invalidDrops)} INVALID drops<div class="sub">${reasons.length ? reasons.join('<br>') : 'no INVALID reason logged'}</div></td>`;
          })
          .join('')}</tr>`,
    )
    .join('');
  const runs = r.kernelRuns ?? [];
  const runRows = runs
    .map(
      (k) =>
        `<tr><td><code>${esc(k.spec)}</code></td><td><code>${esc(k.release)}</code></td><td>${esc(k.vm ? `VM (${k.vm.accel === 'kvm' ? 'KVM' : 'software emulation, TCG'}), boot ${(k.vm.bootMs / 1000).toFixed(1)} s` : 'natively on the host')}, ${esc(k.runtime)} runtime</td><td class="num">${esc((k.totalMs / 1000).toFixed(1))} s</td><td>${k.error ? `<span class="badline">${esc(k.error)}</span>` : esc(k.verdict)}</td></tr>`,
    )
    .join('');
  const caveat = emulationCaveat(runs);
  return (
    `<p class="explain">The same scenario, variants and seed on each kernel. Each cell: the harvest, and the reasons conntrack logged (INVALID, or "ignored" where a newer kernel lets the packet through) with how many packets each one covered.</p>` +
    `<table class="list"><thead>${head}</thead><tbody>${body}</tbody></table>` +
    `<h3>What differed</h3><ul class="summary">${differenceSentences(c)
      .map((x) => `<li>${esc(x)}</li>`)
      .join('')}</ul>` +
    (runRows
      ? `<h3>Where each kernel ran</h3><table class="list"><thead><tr><th>asked for</th><th>release</th><th>how</th><th>time</th><th>verdict on that kernel</th></tr></thead><tbody>${runRows}</tbody></table>`
      : '') +
    (caveat ? `<p class="problems">${esc(caveat)}</p>` : '') +
    `<h3>Known kernel behaviour</h3>${c.kernels.map((k) => `<p><b>${esc(k)}</b></p>${notes(k)}`).join('')}`
  );
}

const CSS = `${PAGE_CSS}
table.side td{text-align:right;font-variant-numeric:tabular-nums;min-width:170px}table.side thead th{text-align:right;font-size:15px}
table.side tbody th{font-weight:500;color:#2b3a48}td.bad{color:var(--bad);font-weight:700}
.row{display:flex;gap:16px;flex-wrap:wrap}figure{margin:0;padding:8px;flex:1 1 360px;min-width:0;border:1px solid var(--line);border-radius:8px;background:#fff}
figcaption{font-weight:600;margin:0 0 4px 4px}.explain{color:var(--muted);margin:0 0 8px}
svg.chart{display:block;width:100%;height:auto}svg .ct{font:600 13px system-ui,sans-serif;fill:var(--ink)}
svg .yl{font:11px system-ui,sans-serif;fill:var(--muted);text-anchor:end}svg .xl{font:11px system-ui,sans-serif;fill:var(--muted);text-anchor:middle}svg .xt{font:11px system-ui,sans-serif;fill:var(--muted);text-anchor:end}
svg .grid{stroke:#eef2f5}svg .axis{stroke:#9aa9b7}svg .empty{font:13px system-ui,sans-serif;fill:var(--muted);text-anchor:middle}
.legend{margin:8px 0 0;font-size:13px;color:var(--muted)}.legend span{margin-right:16px;white-space:nowrap}.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-1px}
ol.flows li,ul.summary li{margin:6px 0}ul.files li{margin:3px 0}
`;

export function renderHtml(r: RunResult, ev: Record<string, VariantEvidence | undefined>): string {
  const good = r.passed && r.problems.length === 0;
  const probs = [
    ...r.problems,
    ...r.variants.flatMap((v) => (ev[variantDir(r, v)]?.problems ?? []).map((p) => `${label(r, v)}: ${p}`)),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>ctlab: ${esc(r.scenario)}</title>
<style>${CSS}</style></head>
<body><main>
<h1>ctlab report: ${esc(r.scenario)}</h1>
<div class="meta">run ${esc(r.runId)} · started ${esc(r.startedAt)} · ${esc(((r.durationMs ?? 0) / 1000).toFixed(1))} s · seed ${esc(r.seed)} · kernel ${esc(kernelsOf(r).join(', ') || r.kernel)} · scenario file ${esc(r.scenarioFile)}</div>
<div class="verdict ${good ? 'pass' : 'fail'}" id="verdict"><span class="status">${good ? 'Every expectation met' : r.problems.length ? 'Inconclusive run' : 'An expectation failed'}</span>${esc(r.verdict)}</div>
${whatWasTested(r)}
${probs.length ? `<div class="problems"><b>Problems</b><ul>${probs.map((p) => `<li>${esc(p)}</li>`).join('')}</ul></div>` : ''}
<h2 id="table">Side by side</h2>
${table(r)}
<h2 id="kernels">Kernel${kernelsOf(r).length > 1 ? 's side by side' : ''}</h2>
${kernelSection(r, ev)}
<h2 id="expectations">Expectations</h2>
${expectations(r)}
${actionsSection(r)}
<h2 id="charts">What happened over time</h2>
${charts(r, ev)}
<h2 id="reasons">Why packets died</h2>
<p class="explain">conntrack's own reason for every packet it judged INVALID (kernel log, NFLOG group 0), and whether each packet the firewall dropped is accounted for by one.</p>
${reasonsSection(r, ev)}
<h2 id="flows">Failed attempts, one by one</h2>
${flowsSection(r, ev)}
<h2 id="nginx">What the server saw vs. what the client got</h2>
${nginxSection(r, ev)}
<h2 id="counters">TCP counters</h2>
${nstatSection(r, ev)}
<h2 id="files">Captures and files</h2>
<p class="explain">Relative to this report. The .pcap files open in Wireshark (or tshark); the rest are text.</p>
${filesSection(r)}
</main>
<script>(function(){var s=document.querySelectorAll('svg.chart');var p=0;for(var i=0;i<s.length;i++)p+=Number(s[i].getAttribute('data-points')||0);document.documentElement.setAttribute('data-charts-drawn',s.length+':'+p);})();</script>
</body></html>
`;
}
