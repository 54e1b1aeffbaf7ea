// summary.md, junit.xml and the terminal table of a replay (replay.json is the result itself).
import { escXml } from '../report/escape.js';
import { runLabel, type ReplayResult } from './result.js';

function multi(r: ReplayResult): boolean {
  return r.options.kernels.length > 1;
}

/** What preprocessing did, one line. */
export function preprocessingLine(r: ReplayResult): string {
  const p = r.preprocessing;
  const parts = [`${p.frames} frames`, `${p.replayed} TCP packets replayed`];
  if (p.padded)
    parts.push(
      `${p.padded} padded to their IP total length (${p.paddedBytes} bytes of zeros; the capture's snap length had cut them)`,
    );
  if (p.checksumsFixed) parts.push(`${p.checksumsFixed} with checksums recomputed`);
  if (p.ipv6Skipped) parts.push(`${p.ipv6Skipped} IPv6 skipped`);
  if (p.nonTcpSkipped) parts.push(`${p.nonTcpSkipped} non-TCP IPv4 skipped`);
  if (p.nonIpSkipped) parts.push(`${p.nonIpSkipped} non-IP skipped`);
  if (p.fragmentsSkipped) parts.push(`${p.fragmentsSkipped} IP fragments skipped`);
  if (p.malformedSkipped) parts.push(`${p.malformedSkipped} malformed skipped`);
  if (p.ttlRaised) parts.push(`${p.ttlRaised} with TTL < 2 raised to 64`);
  if (p.filteredOutFlows)
    parts.push(`${p.filteredOutFlows} flows (${p.filteredOutPackets} packets) left out by --flow`);
  return parts.join('; ');
}

/** The per-run table for the terminal and summary.md. */
export function runTable(r: ReplayResult): string {
  const rows = r.runs.map((x) => [
    runLabel(x, multi(r)),
    x.release || '-',
    x.error ? 'FAILED' : String(x.invalid),
    x.error ? '-' : String(x.invalidFlows),
    x.error ? x.error : x.reasons.map((q) => `${q.reason} (${q.packets})`).join('; ') || '-',
  ]);
  const head = ['run', 'kernel', 'INVALID', 'flows', 'reasons'];
  // Every row has one cell per heading.
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => Math.min(60, row[i]!.length))));
  const line = (c: string[]) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(w[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

export function renderReplayMarkdown(r: ReplayResult): string {
  const m = multi(r);
  const out: string[] = [];
  out.push(`# ctlab replay: ${r.capture.file.split('/').pop()}`, '');
  out.push(`**${r.passed ? 'PASSED' : 'FAILED'}**: ${r.verdict}`, '');
  out.push(
    `Capture: \`${r.capture.file}\` (${r.capture.format}, sha256 ${r.capture.sha256.slice(0, 16)}...). ${preprocessingLine(r)}.`,
    '',
  );
  out.push('| run | kernel | packets | INVALID (would be dropped) | flows | reasons |', '|---|---|---:|---:|---:|---|');
  for (const x of r.runs) {
    out.push(
      `| ${runLabel(x, m)} | ${x.release || '-'} | ${x.packets.replayed} | ${x.error ? 'failed' : x.invalid} | ${x.error ? '-' : x.invalidFlows} | ${x.error ? x.error.replace(/\|/g, '\\|') : x.reasons.map((q) => `${q.reason} (${q.packets})`).join('; ') || '-'} |`,
    );
  }
  if (r.expectations.length) {
    out.push('', '## Expectations', '');
    for (const e of r.expectations)
      out.push(
        `- ${e.passed ? 'ok' : '**FAIL**'} \`${e.text}\`: ${
          Object.entries(e.actual)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || 'no run it applies to'
        }`,
      );
  }
  const first = r.runs.find((x) => !x.error && x.invalid > 0);
  if (first) {
    out.push(
      '',
      `## First INVALID packet of each flow (${runLabel(first, m)})`,
      '',
      '| flow | client | server | picked up mid-stream | INVALID | first: frame | dir | flags | seq | ack | len | reason |',
      '|---:|---|---|---|---:|---:|---|---|---:|---:|---:|---|',
    );
    for (const f of first.flows) {
      const p = f.firstInvalid; // set with the flow's first INVALID packet
      if (f.invalid === 0 || !p) continue;
      const fl = r.flows[f.flow - 1]!; // flow ids are 1-based positions in r.flows
      out.push(
        `| ${f.flow} | ${fl.client} | ${fl.server} | ${fl.pickedUp ? 'yes' : 'no'} | ${f.invalid} | ${p.frame + 1} | ${p.dir === 'c2s' ? 'client→server' : 'server→client'} | ${p.flags} | ${p.seq} | ${p.ack} | ${p.len} | ${p.reason ?? '(none logged)'} |`,
      );
    }
  }
  const picked = r.flows.filter((f) => f.pickedUp);
  if (picked.length)
    out.push(
      '',
      `${picked.length} of ${r.flows.length} flows start without their SYN in the capture: conntrack picked them up mid-stream (nf_conntrack_tcp_loose=1, the default).`,
    );
  if (r.problems.length) out.push('', '## Problems', '', ...r.problems.map((p) => `- ${p}`));
  out.push(
    '',
    `Addresses were replayed mapped one-to-one into 198.18.0.0/15 (map in replay.json); everything here uses the captured addresses. Frame numbers count from 1 as in Wireshark.`,
    '',
  );
  return out.join('\n');
}

/** One test case per expectation; a run that failed or has problems is a failing case too. */
export function renderReplayJunit(r: ReplayResult): string {
  const name = r.capture.file.split('/').pop() ?? 'capture';
  const cases: string[] = [];
  let failures = 0;
  for (const e of r.expectations) {
    const head = `    <testcase classname="${escXml(`ctlab.replay.${name}`)}" name="${escXml(e.text)}"`;
    if (e.passed) {
      cases.push(`${head}/>`);
      continue;
    }
    failures++;
    const msg = `expected ${e.text}, measured ${
      Object.entries(e.actual)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ') || 'nothing (no run it applies to)'
    }`;
    cases.push(
      `${head}>\n      <failure message="${escXml(msg)}" type="expectation">${escXml(`${msg}\nverdict: ${r.verdict}`)}</failure>\n    </testcase>`,
    );
  }
  for (const x of r.runs) {
    const label = runLabel(x, multi(r));
    const head = `    <testcase classname="${escXml(`ctlab.replay.${name}`)}" name="${escXml(`${label} ran`)}" time="${(x.replayMs / 1000).toFixed(3)}"`;
    if (!x.error && !x.problems.length) {
      cases.push(`${head}/>`);
      continue;
    }
    failures++;
    const msg = x.error ?? x.problems.join('; ');
    cases.push(
      `${head}>\n      <failure message="${escXml(msg)}" type="${x.error ? 'error' : 'problem'}">${escXml(msg)}</failure>\n    </testcase>`,
    );
  }
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites name="${escXml(`ctlab replay ${name}`)}" tests="${cases.length}" failures="${failures}" errors="0" time="${(r.durationMs / 1000).toFixed(3)}">\n` +
    `  <testsuite name="${escXml(`replay ${name}`)}" tests="${cases.length}" failures="${failures}" errors="0">\n${cases.join('\n')}\n  </testsuite>\n</testsuites>\n`
  );
}
