// One variant on a fresh lab, step by step: bring the hosts up from the topology (middlebox and
// captures included), run the harvest and the mid-run actions, collect the counters (through
// src/measure/), keep the files, assemble the VariantResult. A fresh server per variant means a
// fresh conntrack table and fresh per-namespace counters, so absolute values are deltas. This
// file orchestrates; it parses nothing.
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CtlabError } from '../errors.js';
import { sleep } from '../util/sleep.js';
import { startupMs } from '../util/startup.js';
import type { HarvestSummary } from '../harvester/harvest.js';
import {
  collectClient,
  collectMiddlebox,
  collectServer,
  readMiddleboxLive,
  readServerSettings,
  readText,
  type RawFiles,
  type ServerSettings,
} from '../measure/collect.js';
import { parseFlushOutput, parseHarvestSummary } from '../measure/parse.js';
import { checkExpectations } from '../result/expectations.js';
import type { ActionResult, VariantResult } from '../result/types.js';
import type { ExecResult, LabNode, Runtime } from '../runtime/types.js';
import type { VariantModel } from '../scenario/model.js';
import { captureCommand, PATHS, type ActionSpec, type CaptureSpec, type Topology } from '../topology/build.js';
import { rulesetLoadFailure } from '../topology/firewall.js';

export type Progress = (msg: string) => void;

async function runAll(node: LabNode, cmds: string[][]): Promise<void> {
  for (const c of cmds) await node.exec(c, { timeoutMs: 60_000 });
}

async function startMiddlebox(mb: LabNode, topo: Topology): Promise<void> {
  await mb.writeFile(PATHS.middleboxConfig, JSON.stringify(topo.middlebox.config, null, 2));
  const cmd = `echo $$ > ${PATHS.middleboxPid}; exec ${topo.middlebox.command.join(' ')} > ${PATHS.middleboxLog} 2>&1`;
  await mb.exec(['sh', '-c', cmd], { detach: true });
  const deadline = Date.now() + startupMs(20_000);
  for (;;) {
    const log = (
      await mb.exec(
        [
          'sh',
          '-c',
          `cat ${PATHS.middleboxLog} 2>/dev/null; echo; kill -0 $(cat ${PATHS.middleboxPid} 2>/dev/null) 2>/dev/null && echo ALIVE`,
        ],
        { reject: false },
      )
    ).stdout;
    if (/^ready\b/m.test(log)) return;
    if (!/ALIVE\s*$/.test(log) && Date.now() > deadline - startupMs(19_000)) {
      throw new CtlabError('LAB', 'the middlebox process exited during start-up', {
        stderr: log.replace(/ALIVE\s*$/, ''),
        hint: 'see the middlebox log above; `ctlab doctor` checks NFQUEUE support',
      });
    }
    if (Date.now() > deadline)
      throw new CtlabError('LAB', `the middlebox did not report ready within ${startupMs(20_000) / 1000} s`, {
        stderr: log,
      });
    await sleep(100);
  }
}

/** Start every capture and wait until each tcpdump says it is listening. */
async function startCaptures(nodes: (n: string) => LabNode, caps: CaptureSpec[]): Promise<void> {
  await Promise.all(
    caps.map(async (c) => {
      const n = nodes(c.node);
      const log = `${c.file}.log`;
      await n.exec(
        [
          'sh',
          '-c',
          `echo $$ > ${c.file}.pid; exec ${captureCommand(c)
            .map((a) => `'${a}'`)
            .join(' ')} 2> ${log}`,
        ],
        { detach: true },
      );
      const deadline = Date.now() + startupMs(10_000);
      for (;;) {
        const r = await n.exec(['sh', '-c', `cat ${log}; kill -0 $(cat ${c.file}.pid) 2>/dev/null && echo ALIVE`], {
          reject: false,
        });
        if (/listening on/.test(r.stdout)) return;
        if (!/ALIVE/.test(r.stdout) || Date.now() > deadline) {
          const log = r.stdout.replace(/ALIVE\s*$/, '').trim();
          // tcpdump's own words (e.g. "eth0: No such device exists") in the message itself.
          throw new CtlabError(
            'LAB',
            `capture ${c.name} (${captureCommand(c).join(' ')}) did not start in node ${c.node}${log ? `: ${log.split('\n').slice(-1)[0]}` : ''}`,
            { stderr: log },
          );
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
      nodes(c.node).exec(
        [
          'sh',
          '-c',
          `p=$(cat ${c.file}.pid); kill -INT $p 2>/dev/null; for i in $(seq 50); do kill -0 $p 2>/dev/null || exit 0; sleep 0.1; done; exit 1`,
        ],
        { reject: false },
      ),
    ),
  );
}

/**
 * Runs the mid-run actions while the harvest runs: each at its time after `t0`, in order. An
 * action still pending when the harvest ends never runs (ranAtMs null): the caller reports it,
 * since a run whose flush never happened measured the control, not the failure.
 */
export async function runActions(
  node: (n: string) => LabNode,
  specs: ActionSpec[],
  t0: number,
  harvest: Promise<unknown>,
): Promise<ActionResult[]> {
  let finished = false;
  let wake: () => void = () => {};
  const ended = harvest.then(
    () => {
      finished = true;
      wake();
    },
    () => {
      finished = true;
      wake();
    },
  );
  void ended;
  const out: ActionResult[] = [];
  for (const a of specs) {
    const wait = t0 + a.atMs - Date.now();
    if (wait > 0 && !finished) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
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
    out.push({
      ...base,
      ranAtMs,
      ok: r.exitCode === 0,
      output,
      ...(flushed !== undefined ? { flushedEntries: flushed } : {}),
    });
  }
  return out;
}

async function stopMiddlebox(mb: LabNode): Promise<void> {
  await mb.exec(
    [
      'sh',
      '-c',
      `p=$(cat ${PATHS.middleboxPid}); kill -TERM $p 2>/dev/null; for i in $(seq 50); do kill -0 $p 2>/dev/null || exit 0; sleep 0.1; done; exit 1`,
    ],
    { reject: false },
  );
}

/**
 * The lab did not come up (hosts, links, set-up commands, middlebox, captures): nothing was
 * measured yet, so the run may tear it down and try a fresh lab. Keeps the original's message.
 */
export class LabSetupError extends CtlabError {
  static from(e: unknown): LabSetupError {
    if (e instanceof LabSetupError) return e;
    if (e instanceof CtlabError) {
      return new LabSetupError(e.code, e.message, {
        hint: e.hint,
        command: e.command,
        exitCode: e.exitCode,
        timedOut: e.timedOut,
        stdout: e.stdout,
        stderr: e.stderr,
        cause: e,
      });
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

/** The lab's nodes by name, once they are up. */
type NodeOf = (name: string) => LabNode;

/**
 * Bring the lab up: hosts, links, set-up commands, the middlebox, the captures. Any failure is
 * a LabSetupError (nothing measured yet: the run may try a fresh lab).
 */
async function bringUp(rt: Runtime, topo: Topology): Promise<NodeOf> {
  const nodes = new Map<string, LabNode>();
  const node: NodeOf = (name) => nodes.get(name)!; // asked only for the topology's nodes, all added below
  try {
    await Promise.all(topo.nodes.map(async (spec) => nodes.set(spec.name, await rt.createNode(spec))));
    for (const l of topo.links) await rt.link(l);
    await Promise.all(
      Object.entries(topo.setup).map(([name, cmds]) =>
        runAll(node(name), cmds).catch((e: unknown) => {
          throw rulesetLoadFailure(e, name, topo.rulesets?.[name]);
        }),
      ),
    );
    await startMiddlebox(node(topo.names.middlebox), topo);
    await startCaptures(node, topo.captures);
  } catch (e) {
    throw LabSetupError.from(e);
  }
  return node;
}

interface Harvest {
  /** The harvester's process (its stderr is kept as harvester.log). */
  exec: ExecResult;
  summary: HarvestSummary;
  harvestMs: number;
  actions: ActionResult[];
}

/** Run the harvester, and the mid-run actions beside it; no summary from it is a lab failure. */
async function harvest(topo: Topology, node: NodeOf, problems: string[]): Promise<Harvest> {
  const t1 = Date.now();
  const run = node(topo.names.harvester).exec(topo.harvester.command, {
    timeoutMs: topo.harvester.timeoutMs,
    reject: false,
  });
  const actionsRun = runActions(node, topo.actions ?? [], t1, run);
  const h = await run;
  const harvestMs = Date.now() - t1;
  const actions = await actionsRun;
  for (const a of actions) {
    if (a.ranAtMs === null)
      problems.push(
        `${topo.variant}: action "${a.text}" never ran: the harvest ended after ${harvestMs} ms (make it earlier, or the workload longer)`,
      );
    else if (!a.ok) problems.push(`${topo.variant}: action "${a.text}" failed: ${a.output || 'no output'}`);
  }
  if (h.timedOut) problems.push(`the harvester did not finish within ${topo.harvester.timeoutMs} ms`);
  const summary = parseHarvestSummary(h.stdout);
  if (!summary) {
    throw new CtlabError('LAB', `the harvester gave no summary (exit ${h.exitCode})`, {
      command: topo.harvester.command,
      exitCode: h.exitCode,
      stderr: h.stderr,
      stdout: h.stdout.slice(-2000),
    });
  }
  return { exec: h, summary, harvestMs, actions };
}

interface Counters {
  server: VariantResult['server'];
  client: VariantResult['client'];
  middlebox: VariantResult['middlebox'];
  /** What the collectors read, by the file name it is kept under. */
  raw: RawFiles;
}

/** Stop the traffic and the captures, and collect every counter through src/measure/. */
async function collectCounters(topo: Topology, node: NodeOf, problems: string[]): Promise<Counters> {
  const mb = node(topo.names.middlebox);
  const live = await readMiddleboxLive(mb);
  if (!live.alive)
    problems.push(`${topo.variant}: the middlebox process died during the run (traffic stopped: fail closed)`);
  // Stop the middlebox first: with no bypass, nothing crosses the path any more, so the
  // counters read below are final and agree with each other (a connection left deadlocked
  // would otherwise keep bumping conntrack's counter between two reads).
  await stopMiddlebox(mb);
  const [server, client] = await Promise.all([
    collectServer(node(topo.names.server), topo),
    collectClient(node(topo.names.harvester), topo),
  ]);
  await stopCaptures(node, topo.captures);
  const middlebox = await collectMiddlebox(mb, live);
  if (!middlebox.countersWritten) problems.push(`${topo.variant}: no middlebox counters were written`);
  const queueDrops = middlebox.counters.queueDrops;
  if (queueDrops > 0)
    problems.push(
      `${topo.variant}: the kernel dropped ${queueDrops} packets at the NFQUEUE (the middlebox was a bottleneck; lower path.rateMbit)`,
    );
  return {
    server: server.counters,
    client: client.counters,
    middlebox: middlebox.counters,
    raw: { ...server.raw, ...client.raw, ...middlebox.raw },
  };
}

/** Keep the raw evidence next to the result: logs, counters, captures. Returns `files` (key → name). */
async function keepFiles(
  dir: string,
  topo: Topology,
  node: NodeOf,
  h: Harvest,
  raw: RawFiles,
  problems: string[],
): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  const files: Record<string, string> = {};
  const save = async (name: string, content: string) => {
    await writeFile(join(dir, name), content);
    files[name.replace(/\.[a-z]+$/, '')] = name;
  };
  const [events, nginx] = await Promise.all([
    readText(node(topo.names.harvester), PATHS.harvesterEvents),
    readText(node(topo.names.server), PATHS.nginxAccessLog),
  ]);
  const texts: RawFiles = {
    'events.jsonl': events,
    'harvester.log': h.exec.stderr,
    'nginx-access.log': nginx,
    ...raw,
    'topology.json': JSON.stringify(topo, null, 2),
  };
  await Promise.all(Object.entries(texts).map(([name, text]) => save(name, text)));
  for (const c of topo.captures) {
    const pcap = await node(c.node)
      .readFile(c.file)
      .catch(() => undefined);
    if (!pcap) {
      problems.push(`${topo.variant}: capture ${c.name} is missing`);
      continue;
    }
    await writeFile(join(dir, c.name), pcap);
    files[c.name.replace(/\.pcap$/, 'Pcap')] = c.name;
  }
  return files;
}

/** The variant's entry of result.json, its expectations checked. */
function assembleResult(
  o: VariantRunOptions,
  topo: Topology,
  settings: ServerSettings,
  h: Harvest,
  c: Counters,
  files: Record<string, string>,
  timings: VariantResult['timings'],
): VariantResult {
  const { summary, actions } = h;
  const attempts = summary.attempts;
  const result: VariantResult = {
    name: topo.variant,
    repetition: o.repetition,
    seed: topo.seed,
    kernel: settings.kernel,
    sysctls: topo.server.sysctls,
    serverSettings: settings.settings,
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
    server: c.server,
    client: c.client,
    middlebox: c.middlebox,
    expectations: [],
    ...(actions.length > 0 ? { actions } : {}),
    timings,
    dir: basename(o.dir),
    files,
  };
  result.expectations = checkExpectations(result, o.variant.expect);
  return result;
}

export async function runVariant(o: VariantRunOptions): Promise<{ result: VariantResult; problems: string[] }> {
  const { runtime: rt, topology: topo, progress } = o;
  const problems: string[] = [];
  const t0 = Date.now();
  progress(`${topo.variant}: starting hosts`);
  const node = await bringUp(rt, topo);
  const labUpMs = Date.now() - t0;
  const settings = await readServerSettings(node(topo.names.server), Object.keys(topo.server.sysctls));

  progress(`${topo.variant}: harvesting (lab up in ${(labUpMs / 1000).toFixed(1)} s)`);
  const h = await harvest(topo, node, problems);

  progress(`${topo.variant}: reading counters`);
  const t2 = Date.now();
  const counters = await collectCounters(topo, node, problems);
  const files = await keepFiles(o.dir, topo, node, h, counters.raw, problems);
  const collectMs = Date.now() - t2;

  const result = assembleResult(o, topo, settings, h, counters, files, {
    labUpMs,
    harvestMs: h.harvestMs,
    collectMs,
    teardownMs: 0,
  });
  return { result, problems };
}
