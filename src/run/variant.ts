// One variant on a fresh lab: bring the hosts up from the topology, start the middlebox, run
// the harvest, read every counter, keep the files, tear down. A fresh server per variant means
// a fresh conntrack table and fresh per-namespace counters, so absolute values are deltas.
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CtlabError } from '../errors.js';
import { sleep } from '../util/sleep.js';
import { chainTargetPackets, natFlowCount, parseConntrackList, parseConntrackStats, parseIptablesCounters, parseNstat } from '../measure/parse.js';
import { parseKernelQueueStats } from '../middlebox/nfqueue.js';
import type { HarvestSummary } from '../harvester/harvest.js';
import { checkExpectations, type ActionResult, type VariantResult } from '../report/result.js';
import type { LabNode, Runtime } from '../runtime/types.js';
import type { VariantModel } from '../scenario/model.js';
import { ADDR, captureCommand, CLIENT_INVALID_CHAIN, NFQUEUE_NUM, PATHS, type ActionSpec, type CaptureSpec, type Topology } from '../topology/build.js';

export type Progress = (msg: string) => void;

/** nstat counters worth keeping (the rest stay in the raw files). */
const NSTAT_KEEP = [
  'TcpActiveOpens', 'TcpPassiveOpens', 'TcpAttemptFails', 'TcpEstabResets', 'TcpInSegs', 'TcpOutSegs', 'TcpRetransSegs', 'TcpOutRsts',
  'TcpExtTCPTimeouts', 'TcpExtTCPSACKDiscard', 'TcpExtTCPSackRecovery', 'TcpExtTCPSACKReneging', 'TcpExtTCPLossProbes',
  'TcpExtTCPFastRetrans', 'TcpExtTCPSlowStartRetrans', 'TcpExtTCPLostRetransmit', 'TcpExtTCPDSACKIgnoredOld',
  'TcpExtTCPDSACKIgnoredNoUndo', 'TcpExtTCPSpuriousRTOs', 'TcpExtTCPAbortOnTimeout', 'TcpExtTCPSynRetrans',
  'TcpExtTCPACKSkippedSeq', 'TcpExtTCPZeroWindowDrop', 'TcpExtTCPRcvQDrop',
];

function keep(all: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of NSTAT_KEEP) out[k] = all[k] ?? 0;
  return out;
}

/** Read back in the server node: what the kernel actually ran with, not what was asked for. */
export const SERVER_SETTINGS = [
  'net.ipv4.tcp_congestion_control', 'net.ipv4.tcp_sack', 'net.ipv4.tcp_timestamps', 'net.ipv4.tcp_window_scaling',
  'net.netfilter.nf_conntrack_tcp_be_liberal', 'net.netfilter.nf_conntrack_tcp_loose', 'net.netfilter.nf_conntrack_tcp_ignore_invalid_rst',
];

/** `sysctl a b` output ("name = value" per line) → { name: value }. */
export function parseSysctlOutput(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^([\w.]+)\s*=\s*(.*?)\s*$/gm)) out[m[1]!] = m[2]!;
  return out;
}

async function runAll(node: LabNode, cmds: string[][]): Promise<void> {
  for (const c of cmds) await node.exec(c, { timeoutMs: 60_000 });
}

function parseSummary(stdout: string): HarvestSummary | undefined {
  const lines = stdout.trim().split('\n').reverse();
  for (const l of lines) {
    try {
      const j = JSON.parse(l) as HarvestSummary;
      if (j && j.type === 'summary') return j;
    } catch {
      /* not JSON: keep looking */
    }
  }
  return undefined;
}


async function startMiddlebox(mb: LabNode, topo: Topology): Promise<void> {
  await mb.writeFile(PATHS.middleboxConfig, JSON.stringify(topo.middlebox.config, null, 2));
  const cmd = `echo $$ > ${PATHS.middleboxPid}; exec ${topo.middlebox.command.join(' ')} > ${PATHS.middleboxLog} 2>&1`;
  await mb.exec(['sh', '-c', cmd], { detach: true });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const log = (await mb.exec(['sh', '-c', `cat ${PATHS.middleboxLog} 2>/dev/null; echo; kill -0 $(cat ${PATHS.middleboxPid} 2>/dev/null) 2>/dev/null && echo ALIVE`], { reject: false })).stdout;
    if (/^ready\b/m.test(log)) return;
    if (!/ALIVE\s*$/.test(log) && Date.now() > deadline - 19_000) {
      throw new CtlabError('LAB', 'the middlebox process exited during start-up', { stderr: log.replace(/ALIVE\s*$/, ''), hint: 'see the middlebox log above; `ctlab doctor` checks NFQUEUE support' });
    }
    if (Date.now() > deadline) throw new CtlabError('LAB', 'the middlebox did not report ready within 20 s', { stderr: log });
    await sleep(100);
  }
}

/** Start every capture and wait until each tcpdump says it is listening. */
async function startCaptures(nodes: (n: string) => LabNode, caps: CaptureSpec[]): Promise<void> {
  await Promise.all(
    caps.map(async (c) => {
      const n = nodes(c.node);
      const log = `${c.file}.log`;
      await n.exec(['sh', '-c', `echo $$ > ${c.file}.pid; exec ${captureCommand(c).map((a) => `'${a}'`).join(' ')} 2> ${log}`], { detach: true });
      const deadline = Date.now() + 10_000;
      for (;;) {
        const r = await n.exec(['sh', '-c', `cat ${log}; kill -0 $(cat ${c.file}.pid) 2>/dev/null && echo ALIVE`], { reject: false });
        if (/listening on/.test(r.stdout)) return;
        if (!/ALIVE/.test(r.stdout) || Date.now() > deadline) {
          const log = r.stdout.replace(/ALIVE\s*$/, '').trim();
          // tcpdump's own words (e.g. "eth0: No such device exists") in the message itself.
          throw new CtlabError('LAB', `capture ${c.name} (${captureCommand(c).join(' ')}) did not start in node ${c.node}${log ? `: ${log.split('\n').slice(-1)[0]}` : ''}`, { stderr: log });
        }
        await sleep(50);
      }
    }),
  );
}

/** Stop the captures (SIGINT: tcpdump flushes and closes the file) and wait for them. */
async function stopCaptures(nodes: (n: string) => LabNode, caps: CaptureSpec[]): Promise<void> {
  await Promise.all(
    caps.map((c) =>
      nodes(c.node).exec(['sh', '-c', `p=$(cat ${c.file}.pid); kill -INT $p 2>/dev/null; for i in $(seq 50); do kill -0 $p 2>/dev/null || exit 0; sleep 0.1; done; exit 1`], { reject: false }),
    ),
  );
}

/** The conntrack-flush action's output ("conntrack entries: N", or -F's "N flow entries have been deleted") → N. */
export function parseFlushOutput(text: string): number | undefined {
  const m = /conntrack entries: (\d+)/.exec(text) ?? /(\d+) flow entries have been deleted/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * Runs the mid-run actions while the harvest runs: each at its time after `t0`, in order. An
 * action still pending when the harvest ends never runs (ranAtMs null): the caller reports it,
 * since a run whose flush never happened measured the control, not the failure.
 */
export async function runActions(node: (n: string) => LabNode, specs: ActionSpec[], t0: number, harvest: Promise<unknown>): Promise<ActionResult[]> {
  let finished = false;
  let wake: () => void = () => {};
  const ended = harvest.then(
    () => { finished = true; wake(); },
    () => { finished = true; wake(); },
  );
  void ended;
  const out: ActionResult[] = [];
  for (const a of specs) {
    const wait = t0 + a.atMs - Date.now();
    if (wait > 0 && !finished) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        wake = () => { clearTimeout(timer); resolve(); };
      });
    }
    const base = { text: a.text, node: a.node, atMs: a.atMs };
    if (finished) {
      out.push({ ...base, ranAtMs: null, ok: false, output: 'not run: the harvest had already ended' });
      continue;
    }
    const ranAtMs = Date.now() - t0;
    const r = await node(a.node).exec(a.command, { reject: false, timeoutMs: 10_000 });
    const output = `${r.stdout}${r.stderr}`.trim();
    const flushed = parseFlushOutput(output);
    out.push({ ...base, ranAtMs, ok: r.exitCode === 0, output, ...(flushed !== undefined ? { flushedEntries: flushed } : {}) });
  }
  return out;
}

async function middleboxAlive(mb: LabNode): Promise<boolean> {
  const r = await mb.exec(['sh', '-c', `kill -0 $(cat ${PATHS.middleboxPid})`], { reject: false });
  return r.exitCode === 0;
}

async function stopMiddlebox(mb: LabNode): Promise<void> {
  await mb.exec(['sh', '-c', `p=$(cat ${PATHS.middleboxPid}); kill -TERM $p 2>/dev/null; for i in $(seq 50); do kill -0 $p 2>/dev/null || exit 0; sleep 0.1; done; exit 1`], { reject: false });
}

async function readText(node: LabNode, path: string): Promise<string> {
  try {
    return (await node.readFile(path)).toString('utf8');
  } catch {
    return '';
  }
}

/** The client's counters from its iptables listing, `conntrack -S` and `conntrack -L`. */
export function clientCounters(tc: NonNullable<Topology['client']>, iptables: string, stats: string, list: string): Omit<VariantResult['client'], 'nstat'> {
  const ctStats = parseConntrackStats(stats);
  return {
    ...(tc.serviceVip ? { serviceVip: tc.serviceVip, natFlows: natFlowCount(parseConntrackList(list), tc.serviceVip, ADDR.server) } : {}),
    sysctls: tc.sysctls,
    conntrackInvalid: ctStats.invalid ?? 0,
    conntrackStats: ctStats,
    invalidDrops: tc.dropInvalid ? (chainTargetPackets(parseIptablesCounters(iptables), CLIENT_INVALID_CHAIN, 'DROP') ?? null) : null,
  };
}

/**
 * The lab did not come up (hosts, links, set-up commands, middlebox, captures): nothing was
 * measured yet, so the run may tear it down and try a fresh lab. Keeps the original's message.
 */
export class LabSetupError extends CtlabError {
  static from(e: unknown): LabSetupError {
    if (e instanceof LabSetupError) return e;
    if (e instanceof CtlabError) {
      return new LabSetupError(e.code, e.message, { hint: e.hint, command: e.command, exitCode: e.exitCode, timedOut: e.timedOut, stdout: e.stdout, stderr: e.stderr, cause: e });
    }
    return new LabSetupError('LAB', `the lab did not come up: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

export interface VariantRunOptions {
  runtime: Runtime;
  topology: Topology;
  variant: VariantModel;
  repetition: number;
  /** Records the repository holds (the workload's). */
  expectedRecords: number;
  /** Folder for this variant's files. */
  dir: string;
  progress: Progress;
}

export async function runVariant(o: VariantRunOptions): Promise<{ result: VariantResult; problems: string[] }> {
  const { runtime: rt, topology: topo, progress } = o;
  const problems: string[] = [];
  const t0 = Date.now();
  progress(`${topo.variant}: starting hosts`);
  const nodes = new Map<string, LabNode>();
  const node = (name: string) => nodes.get(name)!;
  const mb = () => node(topo.names.middlebox);
  try {
    await Promise.all(topo.nodes.map(async (spec) => nodes.set(spec.name, await rt.createNode(spec))));
    for (const l of topo.links) await rt.link(l);
    await Promise.all(Object.entries(topo.setup).map(([name, cmds]) => runAll(node(name), cmds)));
    await startMiddlebox(mb(), topo);
    await startCaptures(node, topo.captures);
  } catch (e) {
    throw LabSetupError.from(e);
  }
  const labUpMs = Date.now() - t0;
  const kernel = (await node(topo.names.server).exec(['uname', '-r'])).stdout.trim();
  const serverSettings = parseSysctlOutput((await node(topo.names.server).exec(['sysctl', ...SERVER_SETTINGS], { reject: false })).stdout);

  progress(`${topo.variant}: harvesting (lab up in ${(labUpMs / 1000).toFixed(1)} s)`);
  const t1 = Date.now();
  const harvest = node(topo.names.harvester).exec(topo.harvester.command, { timeoutMs: topo.harvester.timeoutMs, reject: false });
  const actionsRun = runActions(node, topo.actions ?? [], t1, harvest);
  const h = await harvest;
  const harvestMs = Date.now() - t1;
  const actions = await actionsRun;
  for (const a of actions) {
    if (a.ranAtMs === null) problems.push(`${topo.variant}: action "${a.text}" never ran: the harvest ended after ${harvestMs} ms (make it earlier, or the workload longer)`);
    else if (!a.ok) problems.push(`${topo.variant}: action "${a.text}" failed: ${a.output || 'no output'}`);
  }
  if (h.timedOut) problems.push(`the harvester did not finish within ${topo.harvester.timeoutMs} ms`);
  const summary = parseSummary(h.stdout);
  if (!summary) {
    throw new CtlabError('LAB', `the harvester gave no summary (exit ${h.exitCode})`, { command: topo.harvester.command, exitCode: h.exitCode, stderr: h.stderr, stdout: h.stdout.slice(-2000) });
  }

  progress(`${topo.variant}: reading counters`);
  const t2 = Date.now();
  const srv = node(topo.names.server);
  const cli = node(topo.names.harvester);
  if (!(await middleboxAlive(mb()))) problems.push(`${topo.variant}: the middlebox process died during the run (traffic stopped: fail closed)`);
  const nfq = parseKernelQueueStats(await readText(mb(), '/proc/net/netfilter/nfnetlink_queue')).find((q) => q.queue === NFQUEUE_NUM);
  // Stop the middlebox first: with no bypass, nothing crosses the path any more, so the
  // counters read below are final and agree with each other (a connection left deadlocked
  // would otherwise keep bumping conntrack's counter between two reads).
  await stopMiddlebox(mb());
  const [ipt, cts, sn, cn] = await Promise.all([
    srv.exec([topo.server.iptables, '-w', '-L', '-v', '-x', '-n'], { reject: false }),
    srv.exec(['conntrack', '-S'], { reject: false }),
    srv.exec(['nstat', '-az'], { reject: false }),
    cli.exec(['nstat', '-az'], { reject: false }),
  ]);
  // The client's conntrack, NAT table and INVALID rule, when it has any (the nat-reset class).
  const tc = topo.client;
  const [cipt, ccts, cctl] = tc
    ? await Promise.all([
        cli.exec(['sh', '-c', `${tc.iptables} -w -L -v -x -n; ${tc.iptables} -w -t nat -L -v -x -n`], { reject: false }),
        cli.exec(['conntrack', '-S'], { reject: false }),
        cli.exec(['conntrack', '-L'], { reject: false }),
      ])
    : [];
  await stopCaptures(node, topo.captures);
  const countersText = await readText(mb(), PATHS.middleboxCounters);
  let mbFile: { engine?: Record<string, number>; binding?: Record<string, number>; hold?: Record<string, number>; cpu?: Record<string, number> } = {};
  try {
    mbFile = JSON.parse(countersText) as typeof mbFile;
  } catch {
    problems.push(`${topo.variant}: no middlebox counters were written`);
  }
  const queueDrops = (nfq?.queueDropped ?? 0) + (nfq?.userDropped ?? 0);
  if (queueDrops > 0) problems.push(`${topo.variant}: the kernel dropped ${queueDrops} packets at the NFQUEUE (the middlebox was a bottleneck; lower path.rateMbit)`);
  const chains = parseIptablesCounters(ipt.stdout);
  const invalidDrops = chainTargetPackets(chains, 'CTLAB_INVALID', 'DROP') ?? 0;
  const ctStats = parseConntrackStats(cts.stdout);

  // Keep the raw evidence next to the result.
  await mkdir(o.dir, { recursive: true });
  const files: Record<string, string> = {};
  const save = async (name: string, content: string) => {
    await writeFile(join(o.dir, name), content);
    files[name.replace(/\.[a-z]+$/, '')] = name;
  };
  const flows = await readText(mb(), PATHS.middleboxFlows);
  await Promise.all([
    save('events.jsonl', await readText(cli, PATHS.harvesterEvents)),
    save('harvester.log', h.stderr),
    save('middlebox-counters.json', countersText),
    save('middlebox-flows.jsonl', flows),
    save('middlebox.log', await readText(mb(), PATHS.middleboxLog)),
    save('nginx-access.log', await readText(srv, PATHS.nginxAccessLog)),
    save('server-iptables.txt', ipt.stdout),
    save('server-conntrack-stats.txt', cts.stdout),
    save('server-nstat.txt', sn.stdout),
    save('client-nstat.txt', cn.stdout),
    ...(tc ? [save('client-iptables.txt', cipt!.stdout), save('client-conntrack-stats.txt', ccts!.stdout), save('client-conntrack.txt', cctl!.stdout)] : []),
    save('topology.json', JSON.stringify(topo, null, 2)),
  ]);
  for (const c of topo.captures) {
    const pcap = await node(c.node).readFile(c.file).catch(() => undefined);
    if (!pcap) {
      problems.push(`${topo.variant}: capture ${c.name} is missing`);
      continue;
    }
    await writeFile(join(o.dir, c.name), pcap);
    files[c.name.replace(/\.pcap$/, 'Pcap')] = c.name;
  }
  const collectMs = Date.now() - t2;

  const attempts = summary.attempts;
  const result: VariantResult = {
    name: topo.variant,
    repetition: o.repetition,
    seed: topo.seed,
    kernel,
    sysctls: topo.server.sysctls,
    serverSettings,
    harvest: {
      records: summary.records,
      // The harvester learns the list size from the first page; if even that failed, the
      // repository's size is what was expected.
      expectedRecords: summary.expectedRecords ?? o.expectedRecords,
      complete: summary.complete,
      pages: summary.pages,
      stoppedBecause: summary.stoppedBecause,
    },
    attempts: { ...attempts, failed: attempts.total - attempts.ok },
    connectMs: summary.connectMs,
    requestMs: summary.requestMs,
    durationMs: summary.durationMs,
    throughputBytesPerSec: summary.throughputBytesPerSec,
    server: { invalidDrops, conntrackInvalid: ctStats.invalid ?? 0, conntrackStats: ctStats, nstat: keep(parseNstat(sn.stdout)) },
    client: { nstat: keep(parseNstat(cn.stdout)), ...(tc ? clientCounters(tc, cipt!.stdout, ccts!.stdout, cctl!.stdout) : {}) },
    middlebox: {
      counters: mbFile.engine ?? {},
      binding: mbFile.binding ?? {},
      hold: mbFile.hold ?? {},
      cpu: mbFile.cpu ?? {},
      queueDrops,
      flows: flows.split('\n').filter((l) => l.trim()).length,
    },
    expectations: [],
    ...(actions.length > 0 ? { actions } : {}),
    timings: { labUpMs, harvestMs, collectMs, teardownMs: 0 },
    dir: basename(o.dir),
    files,
  };
  result.expectations = checkExpectations(result, o.variant.expect);
  return { result, problems };
}
