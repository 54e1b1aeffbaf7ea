// The diagnosis in words: turns a variant's evidence (facts from src/evidence/) into the
// sentences report.html and summary.md show: the headline, one sentence per failed flow, the
// drop accounting note, nginx's mismatches, the client NAT's line, and what each nstat counter
// the report shows means.
import type { Attempt, DropAccounting, FlowDiagnosis, NginxMismatch, VariantEvidence } from '../evidence/types.js';
import type { NstatName } from '../measure/nstat.js';

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function plural(n: number, one: string, many = `${one}s`): string {
  return `${fmt(n)} ${n === 1 ? one : many}`;
}

/** The nstat counters the report's TCP table shows, in its order, with what they count. */
export const NSTAT_MEANINGS: ReadonlyArray<readonly [NstatName, string]> = [
  ['TcpRetransSegs', 'segments retransmitted'],
  ['TcpExtTCPTimeouts', 'retransmission timeouts (RTO fired)'],
  ['TcpExtTCPLossProbes', 'tail-loss probes sent'],
  ['TcpExtTCPSACKDiscard', 'SACK blocks discarded as invalid'],
  ['TcpExtTCPDSACKIgnoredOld', 'D-SACK blocks ignored (old)'],
  ['TcpExtTCPDSACKIgnoredNoUndo', 'D-SACK blocks ignored (no undo)'],
  ['TcpExtTCPSackRecovery', 'recoveries driven by SACK'],
  ['TcpExtTCPFastRetrans', 'fast retransmissions'],
  ['TcpExtTCPSlowStartRetrans', 'retransmissions in slow start'],
  ['TcpExtTCPLostRetransmit', 'retransmissions lost again'],
  ['TcpExtTCPSpuriousRTOs', 'timeouts later found spurious'],
  ['TcpExtTCPAbortOnTimeout', 'connections aborted after repeated timeouts'],
  ['TcpExtTCPSynRetrans', 'SYNs retransmitted'],
  ['TcpExtBeyondWindow', 'segments dropped for lying beyond the advertised window (counted from Linux 6.17)'],
  ['TcpExtTCPOFOQueue', 'segments queued out of order'],
  ['TcpExtTCPOFODrop', 'out-of-order segments dropped (no receive memory)'],
  ['TcpEstabResets', 'established connections reset'],
  ['TcpOutRsts', 'resets sent'],
  ['TcpAttemptFails', 'connection attempts that failed'],
  ['TcpInSegs', 'segments received'],
  ['TcpOutSegs', 'segments sent'],
];

/** How an attempt ended, as the rest of a sentence ("timed out waiting for data after 4.0 s ..."). */
export function outcomeWords(a: Attempt): string {
  const got = `${fmt(a.bytes)} bytes received`;
  switch (a.outcome) {
    case 'ok':
      return `succeeded in ${secs(a.totalMs)}`;
    case 'read-timeout':
      return `timed out waiting for data after ${secs(a.totalMs)} (${got})`;
    case 'connect-timeout':
      return `timed out connecting after ${secs(a.totalMs)}`;
    case 'reset':
      return `was reset after ${secs(a.totalMs)} (${got})`;
    case 'http-error':
      return `got an HTTP error${a.errorCode ? ` (${a.errorCode})` : ''}`;
    case 'parse-error':
      return `received a response that did not parse (${got})`;
    default:
      return `failed${a.error ? ` (${a.error})` : ''}`;
  }
}

/** One flow, joined across the middlebox, conntrack, the harvester and nginx, in one or more plain sentences. */
/** `unit`: what the client's attempts fetch, "page" for a harvest, "request" for the other workloads. */
export function flowSentence(d: FlowDiagnosis, attempts: readonly Attempt[], unit = 'page'): string {
  const a = d.attemptIndex === null ? undefined : attempts[d.attemptIndex];
  const who = a
    ? `attempt ${a.attempt} of ${unit} ${a.page} (client port ${a.localPort})`
    : `flow ${d.ordinal} (${d.client}), which no harvester attempt claims,`;
  const parts: string[] = [];
  parts.push(`${who} ${a ? outcomeWords(a) : 'was seen by the middlebox'}`);
  const off = `server offset +${fmt(d.serverOffset)}, ${d.serverOffsetHalf === 'pos' ? 'in the harmful half' : d.serverOffsetHalf === 'neg' ? 'in the harmless half' : 'none'}`;
  if (d.sackBlocksUntranslated > 0) {
    const where =
      d.shiftedSackDrops > 0 || d.serverOffsetHalf === 'pos'
        ? "in the firewall's shifted sequence space"
        : 'untranslated';
    parts.push(
      `its client ACKs carried ${plural(d.sackBlocksUntranslated, 'SACK block')} with edges ${where} (${off})`,
    );
  } else if (d.serverOffset !== 0) {
    parts.push(`its SACK blocks were all translated or absent (${off})`);
  }
  if (d.invalidDrops > 0) {
    const rs = Object.entries(d.reasons)
      .sort((x, y) => y[1] - x[1])
      .map(([r, n]) => `${fmt(n)} as '${r}'`);
    const [onlyReason] = rs;
    const rsText =
      rs.length > 1 ? ` (${rs.join(', ')})` : onlyReason !== undefined ? ` ${onlyReason.replace(/^[\d,]+ /, '')}` : '';
    parts.push(`the server's conntrack dropped ${fmt(d.invalidDrops)} of them${rsText}`);
  } else if (a && a.outcome !== 'ok') {
    parts.push('the server firewall dropped none of its packets');
  }
  if (d.impairmentDrops > 0)
    parts.push(`the path's loss model dropped ${plural(d.impairmentDrops, 'packet')} on purpose`);
  if (d.nginx && a && a.outcome !== 'ok') {
    if (d.nginx.completion === 'OK')
      parts.push(
        `nginx logged the response complete (${fmt(d.nginx.bytesSent)} bytes handed to the kernel in ${Math.round(d.nginx.requestTimeMs)} ms) yet the client received ${fmt(a.bytes)}`,
      );
    else parts.push(`nginx logged the response incomplete (${fmt(d.nginx.bytesSent)} bytes sent)`);
  } else if (!d.nginx && a && a.outcome !== 'ok' && a.outcome !== 'connect-timeout') {
    parts.push('nginx never logged the request (it was still sending when the client gave up)');
  }
  const s = parts.join('; ');
  return `${s.charAt(0).toUpperCase() + s.slice(1)}.`;
}

/** The firewall's INVALID drops set against the captured ones, in plain words (e.g. why captured may exceed the counter). */
export function dropNote(d: DropAccounting): string {
  const { counter, captured, withReason, withoutReason, accounted } = d;
  if (counter === null)
    return `The firewall's counter could not be read; ${fmt(withReason)} of ${fmt(captured)} captured drops have a conntrack reason.`;
  if (counter === 0 && captured === 0) return 'The firewall dropped no packet as INVALID.';
  if (accounted && captured === counter)
    return `All ${fmt(counter)} packets the firewall counted as dropped were captured, each with conntrack's reason.`;
  if (accounted)
    return `The firewall counted ${fmt(counter)} drops; ${fmt(captured)} were captured (the capture ran a moment longer than the counter was read), every one with conntrack's reason.`;
  if (captured < counter)
    return `The firewall counted ${fmt(counter)} drops but only ${fmt(captured)} were captured, ${fmt(withReason)} with a conntrack reason: ${fmt(counter - withReason)} are unexplained.`;
  return `${fmt(withoutReason)} captured drops have no conntrack reason logged for the same bytes.`;
}

/** What nginx logged set against what the client tried, for one mismatch. */
export function mismatchSentence(
  m: NginxMismatch,
  attempts: readonly Attempt[],
  unit = 'page',
  server = 'nginx',
): string {
  const a = m.attemptIndex === null ? undefined : attempts[m.attemptIndex];
  if (m.kind === 'client-never-tried' || !a)
    return `${server} logged a request from port ${m.remotePort} ("${m.nginx?.request ?? ''}") that matches no harvester attempt.`;
  const who = `attempt ${a.attempt} of ${unit} ${a.page} (port ${a.localPort})`;
  if (m.kind === 'server-complete-client-failed' && m.nginx) {
    return `${server} logged ${who} complete (status ${m.nginx.status}, ${fmt(m.nginx.bytesSent)} bytes) but the client received ${fmt(a.bytes)} bytes and ${a.outcome === 'read-timeout' ? 'timed out' : `ended with ${a.outcome}`}.`;
  }
  return `${server} never logged ${who}: the response was still in flight when the client gave up after ${secs(a.totalMs)}.`;
}

/** The client's conntrack (its NAT) in one sentence; undefined when the run did not capture its reasons. */
export function clientSentence(e: Pick<VariantEvidence, 'clientReasons' | 'clientCounters'>): string | undefined {
  if (!e.clientReasons) return undefined;
  const invalid = e.clientCounters?.conntrackInvalid ?? null;
  const drops = e.clientCounters?.invalidDrops ?? null;
  const logged = e.clientReasons.reduce((s, x) => s + x.judged, 0);
  const list = e.clientReasons.map((x) => `${fmt(x.judged)} '${x.reason}'`).join(', ');
  const who = "The client's conntrack (its NAT)";
  const rulesetDrops =
    e.clientCounters?.dropper === 'ruleset' && drops !== null
      ? `; the client's own ruleset dropped ${plural(drops, 'packet')} (counted just after conntrack and after the ruleset)`
      : '';
  if (logged === 0)
    return `${who} logged no packet with a reason${invalid ? ` (yet conntrack -S counts ${fmt(invalid)} INVALID)` : ''}${rulesetDrops}.`;
  if (invalid === 0)
    return `${who} logged ${plural(logged, 'packet')} with a reason (${list}) but counted none INVALID: it let them through (ignored).`;
  const judged =
    invalid !== null
      ? `judged ${plural(invalid, 'packet')} INVALID and logged the reasons of ${fmt(logged)}`
      : `logged the reasons of ${plural(logged, 'packet')}`;
  const fate =
    drops === null
      ? 'the client has no INVALID drop rule, so nothing stopped them'
      : rulesetDrops
        ? rulesetDrops.slice(2)
        : `the client's INVALID rule dropped ${plural(drops, 'packet')}`;
  return `${who} ${judged} (${list}); ${fate}.`;
}

/**
 * The window-overflow class in one sentence: the client sent past the window the server
 * advertised. Said when conntrack judged segments "SEQ is over the upper bound" or the server's
 * TCP counted segments beyond its window (TcpExtBeyondWindow, Linux 6.17 on); undefined otherwise.
 */
export function windowOverflowSentence(e: VariantEvidence): string | undefined {
  const sum = (re: RegExp, k: 'judged' | 'dropped') =>
    e.reasons.filter((x) => re.test(x.reason)).reduce((n, x) => n + x[k], 0);
  const over = /^SEQ is over (the )?upper bound/;
  const judged = sum(over, 'judged');
  const dropped = sum(over, 'dropped');
  const letThrough = sum(/bytes more than expected$/, 'judged');
  const counter = (name: string, side: 'server' | 'client') => e.nstat.find((x) => x.name === name)?.[side] ?? 0;
  const beyond = counter('TcpExtBeyondWindow', 'server');
  if (judged === 0 && beyond === 0) return undefined;
  const parts: string[] = [];
  if (judged > 0)
    parts.push(
      `conntrack judged ${plural(judged, 'segment')} 'SEQ is over the upper bound' (${fmt(dropped)} dropped by the firewall)` +
        (letThrough > 0 ? ` and let ${fmt(letThrough)} smaller overshoots through ('bytes more than expected')` : ''),
    );
  const zero = counter('TcpExtTCPZeroWindowDrop', 'server');
  if (beyond > 0 || zero > 0)
    parts.push(
      `the server's TCP dropped ${[beyond > 0 ? `${fmt(beyond)} past its window` : '', zero > 0 ? `${fmt(zero)} at a zero window` : ''].filter(Boolean).join(' and ')}`,
    );
  const resent = counter('TcpRetransSegs', 'client');
  if (resent > 0) parts.push(`the client resent ${plural(resent, 'segment')}`);
  return `The client sent past the window the server advertised: ${parts.join('; ')}. A sender overruns the window when it believes a larger one than the server's, as when a middlebox raises the window scale of the SYN-ACK; be_liberal=1 stops conntrack's INVALID verdicts, not the overrun.`;
}

/** The headline: a few sentences on why attempts failed. */
export function headline(e: VariantEvidence): string[] {
  const summary: string[] = [];
  const { attempts, drops } = e;
  const failed = attempts.filter((a) => a.outcome !== 'ok');
  const timedOut = failed.filter((a) => a.outcome === 'read-timeout' || a.outcome === 'connect-timeout').length;
  if (attempts.length > 0) {
    summary.push(
      failed.length === 0
        ? `All ${plural(attempts.length, 'attempt')} succeeded.`
        : `${fmt(failed.length)} of ${plural(attempts.length, 'attempt')} failed (${fmt(timedOut)} timed out).`,
    );
  }
  if (drops.captured > 0 || (drops.counter ?? 0) > 0) {
    const top = e.reasons
      .filter((x) => x.dropped > 0)
      .map((x) => `${fmt(x.dropped)} '${x.reason}'`)
      .join(', ');
    const acc = drops.accounted ? 'every drop accounted for' : 'NOT every drop accounted for';
    summary.push(
      `The server's firewall dropped ${plural(drops.counter ?? drops.captured, 'packet')} that conntrack judged INVALID (reasons of the ${fmt(drops.captured)} captured: ${top || 'none logged'}; ${acc}).`,
    );
  } else {
    summary.push("The server's firewall dropped no packet as INVALID.");
  }
  const failedFlows = e.flows.filter((f) => f.outcome !== null && f.outcome !== 'ok');
  if (failedFlows.length > 0) {
    const harmful = failedFlows.filter(
      (f) => f.serverOffsetHalf === 'pos' && f.sackBlocksUntranslated > 0 && f.invalidDrops > 0,
    ).length;
    summary.push(
      `${fmt(harmful)} of the ${plural(failedFlows.length, 'failed connection')} had the middlebox's server offset in the harmful half, SACK blocks left untranslated and ACKs dropped as INVALID.`,
    );
  }
  const overflow = windowOverflowSentence(e);
  if (overflow) summary.push(overflow);
  const client = clientSentence(e);
  if (client) summary.push(client);
  const sc = e.nginx.mismatches.filter((m) => m.kind === 'server-complete-client-failed').length;
  if (sc > 0)
    summary.push(
      `nginx logged ${plural(sc, 'response')} as complete whose bytes the client never finished receiving: the server's own logs look clean.`,
    );
  return summary;
}
