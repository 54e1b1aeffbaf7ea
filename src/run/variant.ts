// One variant on a fresh lab, step by step: bring the hosts up from the topology (middlebox and
// captures included), run the workload (a harvest, requests, a bulk transfer or the user's
// command) and the mid-run actions, collect the counters (through
// src/measure/), keep the files, assemble the VariantResult. A fresh server per variant means a
// fresh conntrack table and fresh per-namespace counters, so absolute values are deltas. This
// file orchestrates; it parses nothing.
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CtlabError } from '../errors.js';
import { sleep } from '../util/sleep.js';
import { startupMs } from '../util/startup.js';
import type { HarvestSummary } from '../harvester/harvest.js';
import type { RequestSummary } from '../harvester/requests.js';
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
import {
  commandNotFound,
  parseCommandStatus,
  parseFlushOutput,
  parseHarvestSummary,
  parseRequestSummary,
  type CommandStatus,
} from '../measure/parse.js';
import { checkExpectations } from '../result/expectations.js';
import type { ActionResult, Percentiles, VariantResult, WorkloadResult } from '../result/types.js';
import type { ExecResult, LabNode, Runtime } from '../runtime/types.js';
import type { VariantModel, Workload } from '../scenario/model.js';
import { ADDR, captureCommand, PATHS, type ActionSpec, type CaptureSpec, type Topology } from '../topology/build.js';
import { rulesetLoadFailure } from '../topology/firewall.js';

export type Progress = (msg: string) => void;

async function runAll(node: LabNode, cmds: string[][]): Promise<void> {
  for (const c of cmds) await node.exec(c, { timeoutMs: 60_000 });
}

/**
 * A detached process's log and state, from the pid file its shell writes before `exec`:
 * "starting" while the pid file is not written yet (a detached exec returns before its shell
 * runs, and under load that can take a while), then "alive" or "dead".
 */
async function processState(
  node: LabNode,
  pidFile: string,
  logFile: string,
): Promise<{ log: string; state: 'starting' | 'alive' | 'dead' }> {
  const r = await node.exec(
    [
      'sh',
      '-c',
      `cat ${logFile} 2>/dev/null; echo; if [ ! -s ${pidFile} ]; then echo STARTING; elif kill -0 $(cat ${pidFile}) 2>/dev/null; then echo ALIVE; else echo DEAD; fi`,
    ],
    { reject: false },
  );
  const m = /(STARTING|ALIVE|DEAD)\s*$/.exec(r.stdout);
  const state = m?.[1] === 'STARTING' ? 'starting' : m?.[1] === 'ALIVE' ? 'alive' : 'dead';
  return { log: r.stdout.replace(/\n?(STARTING|ALIVE|DEAD)\s*$/, '').trim(), state };
}

async function startMiddlebox(mb: LabNode, topo: Topology): Promise<void> {
  await mb.writeFile(PATHS.middleboxConfig, JSON.stringify(topo.middlebox.config, null, 2));
  const cmd = `echo $$ > ${PATHS.middleboxPid}; exec ${topo.middlebox.command.join(' ')} > ${PATHS.middleboxLog} 2>&1`;
  await mb.exec(['sh', '-c', cmd], { detach: true });
  const deadline = Date.now() + startupMs(20_000);
  for (;;) {
    const { log, state } = await processState(mb, PATHS.middleboxPid, PATHS.middleboxLog);
    if (/^ready\b/m.test(log)) return;
    if (state === 'dead') {
      throw new CtlabError('LAB', 'the middlebox process exited during start-up', {
        stderr: log,
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
      const logFile = `${c.file}.log`;
      await n.exec(
        [
          'sh',
          '-c',
          `echo $$ > ${c.file}.pid; exec ${captureCommand(c)
            .map((a) => `'${a}'`)
            .join(' ')} 2> ${logFile}`,
        ],
        { detach: true },
      );
      const deadline = Date.now() + startupMs(10_000);
      for (;;) {
        const { log, state } = await processState(n, `${c.file}.pid`, logFile);
        if (/listening on/.test(log)) return;
        if (state === 'dead' || Date.now() > deadline) {
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
export async function stopCaptures(nodes: (n: string) => LabNode, caps: CaptureSpec[]): Promise<void> {
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
  /** Records the repository holds (the workload's; 0 for the other workloads). */
  expectedRecords: number;
  /** The scenario's workload (what its result section reports against). */
  workload: Workload;
  /** Folder for this variant's files. */
  dir: string;
  progress: Progress;
}

/** The lab's nodes by name, once they are up. */
export type NodeOf = (name: string) => LabNode;

/**
 * Bring the lab up: hosts, links, set-up commands, the middlebox, the captures. Any failure is
 * a LabSetupError (nothing measured yet: the run may try a fresh lab).
 */
export async function bringUp(rt: Runtime, topo: Topology): Promise<NodeOf> {
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
    await startImages(rt, topo, nodes);
    await startMiddlebox(node(topo.names.middlebox), topo);
    await startCaptures(node, topo.captures);
  } catch (e) {
    throw LabSetupError.from(e);
  }
  return node;
}

/** The node a user's image runs as (it shares `node`'s network namespace). */
export function imageNode(node: string): string {
  return `${node}-image`;
}

/** The user's own images, once their nodes are set up (the server's firewall is in place). */
async function startImages(rt: Runtime, topo: Topology, nodes: Map<string, LabNode>): Promise<void> {
  const specs = Object.values(topo.images ?? {});
  if (specs.length === 0) return;
  const start = rt.startImage?.bind(rt);
  if (!start) throw new CtlabError('LAB', `the ${rt.kind} runtime cannot run images (only the Docker runtime can)`);
  await Promise.all(specs.map(async (spec) => nodes.set(imageNode(spec.node), await start(spec))));
}

/** What the client's side of the workload said. */
type WorkloadOutcome =
  | { kind: 'oai-pmh'; summary: HarvestSummary }
  | { kind: 'requests'; summary: RequestSummary }
  | { kind: 'command'; status: CommandStatus; stdout: Buffer; stderr: Buffer };

interface Harvest {
  /** The client's process (the harvester's stderr is kept as harvester.log). */
  exec: ExecResult;
  outcome: WorkloadOutcome;
  harvestMs: number;
  actions: ActionResult[];
}

/** The longest part of a command's stdout and stderr result.json keeps (the files keep all). */
const COMMAND_TEXT_BYTES = 64 * 1024;

/** What the client printed → the workload's outcome; no summary (status line) is a lab failure. */
async function workloadOutcome(topo: Topology, client: LabNode, h: ExecResult): Promise<WorkloadOutcome> {
  const kind = topo.harvester.kind;
  const fail = (what: string) =>
    new CtlabError('LAB', `${what} (exit ${h.exitCode})`, {
      command: topo.harvester.command,
      exitCode: h.exitCode,
      stderr: h.stderr,
      stdout: h.stdout.slice(-2000),
    });
  if (kind === 'oai-pmh') {
    const summary = parseHarvestSummary(h.stdout);
    if (!summary) throw fail('the harvester gave no summary');
    return { kind, summary };
  }
  if (kind !== 'command') {
    const summary = parseRequestSummary(h.stdout);
    if (!summary) throw fail(`the harvester gave no summary of the ${kind} workload`);
    return { kind: 'requests', summary };
  }
  const status = parseCommandStatus(h.stdout);
  if (!status) throw fail("the command workload's shell gave no status line");
  const [stdout, stderr] = (await Promise.all(
    [PATHS.commandStdout, PATHS.commandStderr].map((f) => client.readFile(f).catch(() => Buffer.alloc(0))),
  )) as [Buffer, Buffer];
  // sh's 127 with its "not found": the lab cannot run what the scenario asks (exit 3, one line).
  const missing = status.rc === 127 ? commandNotFound(stderr.toString('utf8')) : undefined;
  if (missing !== undefined)
    throw new CtlabError(
      'LAB',
      `the command workload's program was not found in the client node: ${missing} (sh exited 127)`,
      {
        stderr: stderr.toString('utf8').slice(0, 2000),
        hint: 'install it in the client image (or on the host with --runtime netns), or give its full path',
      },
    );
  return { kind, status, stdout, stderr };
}

/**
 * When the workload's first connection reached the server: the first TCP entry from the
 * client's address in the server's conntrack table (polled every 25 ms; a fresh lab has none).
 * Undefined when the workload ended first.
 */
async function firstConnection(server: LabNode, run: Promise<unknown>): Promise<number | undefined> {
  let ended = false;
  const end = () => {
    ended = true;
  };
  run.then(end, end);
  while (!ended) {
    const r = await server.exec(['conntrack', '-L', '-p', 'tcp', '-s', ADDR.client], { reject: false });
    if (r.exitCode === 0 && /\bsrc=/.test(r.stdout)) return Date.now();
    await sleep(25);
  }
  return undefined;
}

/** Run the workload's client, and the mid-run actions beside it. */
async function harvest(topo: Topology, node: NodeOf, problems: string[]): Promise<Harvest> {
  const t1 = Date.now();
  // The workload's client: the client node, or the user's client image in its namespace.
  const client = node(topo.images?.client ? imageNode(topo.names.harvester) : topo.names.harvester);
  const run = client.exec(topo.harvester.command, {
    timeoutMs: topo.harvester.timeoutMs,
    reject: false,
  });
  // The actions' clock starts at the workload's first connection, not at the client's launch:
  // under load a client can take longer to start than an early action's time.
  const actionsRun =
    (topo.actions ?? []).length === 0
      ? Promise.resolve([])
      : firstConnection(node(topo.names.server), run).then((t0) => runActions(node, topo.actions ?? [], t0 ?? t1, run));
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
  if (h.timedOut) problems.push(`the workload's client did not finish within ${topo.harvester.timeoutMs} ms`);
  const outcome = await workloadOutcome(topo, client, h);
  return { exec: h, outcome, harvestMs, actions };
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
  const oai = topo.harvester.kind === 'oai-pmh';
  const server = node(topo.names.server);
  const [events, access, serviceLog] = await Promise.all([
    readText(node(topo.names.harvester), PATHS.harvesterEvents),
    readText(server, oai ? PATHS.nginxAccessLog : PATHS.serviceAccessLog),
    oai ? '' : readText(server, PATHS.serviceLog),
  ]);
  // The user's images: what their main process logged (server-image.log, client-image.log).
  for (const [role, spec] of Object.entries(topo.images ?? {})) {
    const text = (await node(imageNode(spec.node)).logs?.()) ?? '';
    await save(`${role}-image.log`, text);
  }

  const o = h.outcome;
  const texts: RawFiles = {
    'events.jsonl': events,
    ...(o.kind === 'command'
      ? { 'command-stdout.txt': o.stdout.toString('utf8'), 'command-stderr.txt': o.stderr.toString('utf8') }
      : { 'harvester.log': h.exec.stderr }),
    ...(oai ? { 'nginx-access.log': access } : { 'service-access.log': access, 'service.log': serviceLog }),
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
  const { actions } = h;
  const w = workloadFacts(o.workload, h.outcome, o.expectedRecords);
  const result: VariantResult = {
    name: topo.variant,
    repetition: o.repetition,
    seed: topo.seed,
    kernel: settings.kernel,
    sysctls: topo.server.sysctls,
    serverSettings: settings.settings,
    harvest: w.harvest,
    workload: w.workload,
    attempts: w.attempts,
    connectMs: w.connectMs,
    requestMs: w.requestMs,
    durationMs: w.durationMs,
    throughputBytesPerSec: w.throughputBytesPerSec,
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

const NO_TIMES: Percentiles = { p50: null, p90: null, p99: null, max: null };
const NO_ATTEMPTS: VariantResult['attempts'] = {
  total: 0,
  ok: 0,
  timedOut: 0,
  connectTimeouts: 0,
  readTimeouts: 0,
  resets: 0,
  errors: 0,
  httpErrors: 0,
  parseErrors: 0,
  failed: 0,
  retries: 0,
};

/** The result's workload fields from what the client said: `harvest`, `workload`, the attempts and their times. */
function workloadFacts(
  model: Workload,
  out: WorkloadOutcome,
  expectedRecords: number,
): Pick<VariantResult, 'harvest' | 'attempts' | 'connectMs' | 'requestMs' | 'durationMs' | 'throughputBytesPerSec'> & {
  workload: WorkloadResult;
} {
  if (out.kind === 'oai-pmh') {
    const s = out.summary;
    // The harvester learns the list size from the first page; if even that failed, the
    // repository's size is what was expected.
    const expected = s.expectedRecords ?? expectedRecords;
    return {
      harvest: {
        records: s.records,
        expectedRecords: expected,
        complete: s.complete,
        pages: s.pages,
        stoppedBecause: s.stoppedBecause,
      },
      workload: {
        kind: 'oai-pmh',
        complete: s.complete,
        stoppedBecause: s.stoppedBecause,
        bytes: s.bytes,
        durationMs: s.durationMs,
        records: s.records,
        expectedRecords: expected,
      },
      attempts: { ...s.attempts, failed: s.attempts.total - s.attempts.ok },
      connectMs: s.connectMs,
      requestMs: s.requestMs,
      durationMs: s.durationMs,
      throughputBytesPerSec: s.throughputBytesPerSec,
    };
  }
  // The other workloads have no records: `harvest` carries only whether the workload completed.
  const harvest = (complete: boolean, stoppedBecause: string) => ({
    records: 0,
    expectedRecords: 0,
    complete,
    pages: 0,
    stoppedBecause,
  });
  if (out.kind === 'command') {
    const st = out.status;
    const complete = st.rc === 0;
    const stoppedBecause = complete ? 'complete' : st.timedOut ? 'timeout' : 'exit-code';
    const text = (b: Buffer) => b.subarray(0, COMMAND_TEXT_BYTES).toString('utf8');
    return {
      harvest: harvest(complete, stoppedBecause),
      workload: {
        kind: 'command',
        complete,
        stoppedBecause,
        bytes: null,
        durationMs: st.ms,
        command: model.kind === 'command' ? model.command : '',
        exitCode: st.timedOut ? null : st.rc,
        signal: st.signal,
        timedOut: st.timedOut,
        stdout: text(out.stdout),
        stderr: text(out.stderr),
        stdoutBytes: out.stdout.length,
        stderrBytes: out.stderr.length,
      },
      attempts: NO_ATTEMPTS,
      connectMs: NO_TIMES,
      requestMs: NO_TIMES,
      durationMs: st.ms,
      throughputBytesPerSec: 0,
    };
  }
  const s = out.summary;
  const base = { complete: s.complete, stoppedBecause: s.stoppedBecause, bytes: s.bytes, durationMs: s.durationMs };
  // http and upload: the common fields, the request counts, then what was asked.
  const requestsWorkload = <K extends 'http' | 'upload', C>(
    kind: K,
    asked: { concurrency: number; keepAlive: boolean },
    counts: C,
  ) => ({
    kind,
    ...base,
    requests: s.requests,
    ...counts,
    expectedBytes: s.expectedBytes ?? 0,
    concurrency: asked.concurrency,
    keepAlive: asked.keepAlive,
  });
  let workload: WorkloadResult;
  if (model.kind === 'http') workload = requestsWorkload('http', model, { ok: s.ok });
  else if (model.kind === 'upload')
    workload = requestsWorkload('upload', model, {
      acknowledged: s.ok,
      wrongCount: s.wrongCount,
      bytesSent: s.bytesSent,
      bytesAcknowledged: s.bytes,
    });
  else if (model.kind === 'bulk')
    workload = {
      kind: 'bulk',
      ...base,
      direction: model.direction,
      targetBytes: model.bytes,
      targetMs: model.durationMs,
    };
  else throw new CtlabError('LAB', `the harvester reported a ${s.kind} workload for a ${model.kind} scenario`);
  return {
    harvest: harvest(s.complete, s.stoppedBecause),
    workload,
    attempts: { ...s.attempts, failed: s.attempts.total - s.attempts.ok },
    connectMs: s.connectMs,
    requestMs: s.requestMs,
    durationMs: s.durationMs,
    throughputBytesPerSec: s.throughputBytesPerSec,
  };
}

export async function runVariant(o: VariantRunOptions): Promise<{ result: VariantResult; problems: string[] }> {
  const { runtime: rt, topology: topo, progress } = o;
  const problems: string[] = [];
  const t0 = Date.now();
  const own = Object.values(topo.images ?? {}).map((i) => i.image);
  progress(`${topo.variant}: starting hosts${own.length ? ` and ${own.join(', ')}` : ''}`);
  const node = await bringUp(rt, topo);
  const labUpMs = Date.now() - t0;
  const settings = await readServerSettings(node(topo.names.server), Object.keys(topo.server.sysctls));

  progress(
    `${topo.variant}: ${topo.harvester.kind === 'oai-pmh' ? 'harvesting' : `running the ${topo.harvester.kind} workload`} (lab up in ${(labUpMs / 1000).toFixed(1)} s)`,
  );
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
