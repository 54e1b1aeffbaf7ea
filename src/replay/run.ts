// `ctlab replay`: read and repair the capture, then play it through a fresh router namespace
// once per setting (be_liberal 0 and 1 by default) on each kernel named (host here, others in a
// VM through src/vm), attribute conntrack's verdicts to packets, and write replay.json,
// summary.md, junit.xml and report.html.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { release as osRelease } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { CtlabError } from '../errors.js';
import { readTcpPackets } from '../evidence/packets.js';
import { PacketError, writePcap, LINKTYPE_ETHERNET } from '../packet/index.js';
import { attribute } from './attribute.js';
import { readCapture, tcpPackets, type RawCapture } from './capture.js';
import { renderReplayHtml } from './html.js';
import { renderReplayJunit, renderReplayMarkdown } from './output.js';
import { parseFlowFilter, prepare, type FlowFilter, type Prepared } from './prepare.js';
import { checkHost, runLab } from './lab.js';
import { probeKernelSysctls } from '../scenario/kernel-sysctls.js';
import { checkSysctl, sysctlKey } from '../scenario/sysctls.js';
import {
  BE_LIBERAL,
  evaluate,
  parseExpectation,
  REPLAY_SCHEMA,
  summarise,
  verdictText,
  type Expectation,
  type ReplayResult,
  type ReplayRun,
  type Setting,
} from './result.js';

export interface ReplayOptions {
  capture: string;
  outDir: string;
  kernels: string[];
  /** --sysctl name=value, applied on top of each setting (a be_liberal one replaces the default pair). */
  sysctls: Record<string, string>;
  flow?: string;
  expect: string[];
  pace: boolean;
  runId: string;
  version: string;
  log: (m: string) => void;
  /** Runs the replay on a non-host kernel into dir; returns that guest's replay.json. */
  vmRunner?: (spec: string, dir: string) => Promise<ReplayResult>;
}

const LOG_INVALID = 'net.netfilter.nf_conntrack_log_invalid';

/** The settings to replay under: be_liberal 0 and 1, each with the --sysctl values on top. */
export function settingsFor(extra: Record<string, string>): Setting[] {
  const base = { [LOG_INVALID]: '6', ...extra };
  if (extra[BE_LIBERAL] !== undefined) return [{ name: `be_liberal=${extra[BE_LIBERAL]}`, sysctls: base }];
  const extraText = Object.entries(extra)
    .map(([k, v]) => `${k.split('.').pop()}=${v}`)
    .join(', ');
  return ['0', '1'].map((v) => ({
    name: `be_liberal=${v}${extraText ? `, ${extraText}` : ''}`,
    sysctls: { ...base, [BE_LIBERAL]: v },
  }));
}

/**
 * `--sysctl name=value` arguments, checked for shape (src/scenario/sysctls.ts checkSysctl, the
 * scenarios' rule: a dotted net.* name, a one-line value); bad input: exit 2, nothing started.
 */
export function parseSysctlArgs(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const i = a.indexOf('=');
    const name = i > 0 ? a.slice(0, i).trim() : '';
    const value = i > 0 ? a.slice(i + 1).trim() : '';
    const err = i > 0 ? checkSysctl(name, value) : 'expected name=value, e.g. net.netfilter.nf_conntrack_tcp_loose=0';
    if (err) throw new CtlabError('SCENARIO', `--sysctl ${JSON.stringify(a)}: ${err}`);
    out[name] = value;
  }
  return out;
}

/**
 * Every sysctl the settings set, checked against this machine's kernel in a throwaway network
 * namespace as scenarios are (src/scenario/kernel-sysctls.ts: closest names for an unknown name,
 * the kernel's own error for a refused value): exit 2 before any lab starts. Needs root (checkHost).
 */
async function checkSysctlsHere(settings: Setting[], given: Record<string, string>): Promise<void> {
  const pairs = new Map<string, [string, string]>();
  for (const s of settings) for (const [k, v] of Object.entries(s.sysctls)) pairs.set(sysctlKey(k, v), [k, v]);
  const kernel = await probeKernelSysctls([...pairs.values()]);
  for (const [k, v] of pairs.values()) {
    const err = checkSysctl(k, v, kernel);
    if (err) throw new CtlabError('SCENARIO', `${given[k] === v ? '--sysctl' : 'ctlab replay'}: ${err}`);
  }
}

/** Parse everything the user gave before anything starts (bad input: exit 2, nothing started). */
export async function loadInput(o: Pick<ReplayOptions, 'capture' | 'flow' | 'expect'>): Promise<{
  prepared: Prepared;
  counts: ReturnType<typeof tcpPackets>['counts'];
  format: 'pcap' | 'pcapng';
  linktypes: number[];
  sha256: string;
  expectations: Expectation[];
}> {
  const bad = (m: string, hint?: string) => new CtlabError('SCENARIO', m, hint ? { hint } : {});
  let expectations: Expectation[];
  let filter: FlowFilter | undefined;
  try {
    expectations = o.expect.map(parseExpectation);
    filter = o.flow !== undefined ? parseFlowFilter(o.flow) : undefined;
  } catch (e) {
    throw bad((e as Error).message);
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(o.capture));
  } catch (e) {
    throw bad(`${o.capture}: cannot read the capture (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let cap: RawCapture;
  let tcp: ReturnType<typeof tcpPackets>;
  try {
    cap = readCapture(bytes);
    tcp = tcpPackets(cap);
  } catch (e) {
    if (e instanceof PacketError)
      throw bad(`${o.capture}: ${e.message}`, 'give a pcap or pcapng file (tcpdump -w, Wireshark, tshark)');
    throw e;
  }
  if (tcp.packets.length === 0) {
    const c = tcp.counts;
    throw bad(
      `${o.capture}: no IPv4 TCP packet to replay (${c.frames} frames: ${c.ipv6Skipped} IPv6, ${c.nonTcpSkipped} other IPv4, ${c.nonIpSkipped} not IP, ${c.malformedSkipped} malformed)`,
    );
  }
  let prepared: Prepared;
  try {
    prepared = prepare(tcp.packets, filter);
  } catch (e) {
    throw bad(`${o.capture}: ${(e as Error).message}`);
  }
  if (prepared.packets.length === 0)
    throw bad(`--flow ${o.flow}: no flow of ${o.capture} matches (${prepared.filteredOutFlows} flows)`);
  return {
    prepared,
    counts: tcp.counts,
    format: cap.format,
    linktypes: cap.linktypes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    expectations,
  };
}

/** One setting on this machine's kernel. */
async function replayHere(
  p: Prepared,
  s: Setting,
  dir: string,
  o: { pace: boolean; runId: string; setting: number; kernel: string; log: (m: string) => void; pcap: string },
): Promise<ReplayRun> {
  await mkdir(dir, { recursive: true });
  const expectA = p.packets.filter((x) => x.dir === 'c2s').length;
  const lab = await runLab({
    runId: o.runId,
    setting: o.setting,
    dir,
    pcap: o.pcap,
    expectA,
    expectB: p.packets.length - expectA,
    sysctls: s.sysctls,
    pace: o.pace,
    log: o.log,
  });
  const read = async (f: string) => {
    try {
      return readTcpPackets(new Uint8Array(await readFile(f)));
    } catch (e) {
      throw new CtlabError('LAB', `cannot read ${f}: ${(e as Error).message}`);
    }
  };
  const a = attribute(p.packets, await read(lab.reasonsPcap), await read(lab.invalidPcap));
  const sum = summarise(p.packets, p.flows, a);
  const problems = [...lab.problems, ...sum.problems];
  if (lab.invalidCounter !== a.invalid.size + a.unmatchedInvalid)
    problems.push(
      `the INVALID rule counted ${lab.invalidCounter} packets, its NFLOG capture holds ${a.invalid.size + a.unmatchedInvalid}`,
    );
  return {
    kernel: o.kernel,
    release: osRelease(),
    setting: s,
    sysctls: lab.sysctls,
    packets: { replayed: p.packets.length, sent: lab.sent, received: lab.received },
    invalid: sum.invalid,
    invalidFlows: sum.invalidFlows,
    reasons: sum.reasons,
    flows: sum.flows,
    packetVerdicts: sum.packetVerdicts,
    replayMs: lab.replayMs,
    packetsPerSecond: Math.round(p.packets.length / Math.max(0.001, lab.replayMs / 1000)),
    problems,
  };
}

function settingDir(s: Setting): string {
  return s.name.replace(/[^\w.=-]+/g, '_');
}

export async function runReplay(o: ReplayOptions): Promise<ReplayResult> {
  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  const input = await loadInput(o);
  const settings = settingsFor(o.sysctls);
  const needHost = o.kernels.includes('host');
  if (needHost) {
    await checkHost();
    await checkSysctlsHere(settings, o.sysctls);
  }
  const outDir = resolve(o.outDir);
  await mkdir(outDir, { recursive: true });
  const p = input.prepared;
  const pcap = join(outDir, 'replayed.pcap');
  await writeFile(
    pcap,
    writePcap(
      p.frames.map((data, i) => ({ timeMs: p.packets[i]!.timeMs, data })), // one frame per packet
      LINKTYPE_ETHERNET,
    ),
  );
  o.log(
    `replay ${basename(o.capture)} (run ${o.runId}): ${p.packets.length} TCP packets in ${p.flows.length} flows (${input.counts.padded} padded to their IP length), ${settings.length} settings on ${o.kernels.join(', ')}`,
  );
  const runs: ReplayRun[] = [];
  const multi = o.kernels.length > 1;
  for (const k of o.kernels) {
    const kdir = multi ? join(outDir, `kernel-${k.replace(/[^\w.-]+/g, '_')}`) : outDir;
    if (k === 'host') {
      for (const [i, s] of settings.entries()) {
        o.log(`${multi ? `[host] ` : ''}${s.name}: replaying`);
        try {
          const r = await replayHere(p, s, join(kdir, settingDir(s)), {
            pace: o.pace,
            runId: o.runId,
            setting: i,
            kernel: 'host',
            log: o.log,
            pcap,
          });
          o.log(
            `${multi ? `[host] ` : ''}${s.name}: ${r.invalid} INVALID in ${r.invalidFlows} flows (${r.packetsPerSecond} packets/s)`,
          );
          runs.push(r);
        } catch (e) {
          if (!multi) throw e;
          runs.push(failedRun('host', osRelease(), s, p.packets.length, e));
        }
      }
      continue;
    }
    if (!o.vmRunner) throw new CtlabError('HOST', `no VM runner for kernel ${k}`);
    try {
      const g = await o.vmRunner(k, kdir);
      for (const r of g.runs) runs.push({ ...r, kernel: k });
    } catch (e) {
      o.log(`[${k}] failed: ${(e as Error).message}`);
      for (const s of settings) runs.push(failedRun(k, '', s, p.packets.length, e));
    }
  }
  const expectations = input.expectations.map((e) => evaluate(e, runs, multi));
  const problems = runs.flatMap((r) => r.problems.map((x) => `${r.kernel} / ${r.setting.name}: ${x}`));
  const result: ReplayResult = {
    schema: REPLAY_SCHEMA,
    ctlabVersion: o.version,
    capture: { file: resolve(o.capture), sha256: input.sha256, format: input.format, linktypes: input.linktypes },
    startedAt,
    durationMs: Date.now() - t0,
    options: { flow: o.flow ?? null, pace: o.pace, kernels: o.kernels, settings },
    preprocessing: {
      ...input.counts,
      filteredOutFlows: p.filteredOutFlows,
      filteredOutPackets: p.filteredOutPackets,
      replayed: p.packets.length,
      // loadInput refused a capture with no packet left to replay.
      firstTimeMs: p.packets[0]!.timeMs,
      lastTimeMs: p.packets[p.packets.length - 1]!.timeMs,
    },
    addressMap: p.addressMap,
    flows: p.flows.map((f) => ({ ...f, pickedUp: !f.sawSyn })),
    runs,
    expectations,
    passed: expectations.every((e) => e.passed) && !runs.some((r) => r.error),
    verdict: verdictText(runs, o.kernels),
    problems,
  };
  await writeOutputs(result, outDir);
  await rm(join(outDir, 'replay.cache'), { force: true });
  return result;
}

function failedRun(kernel: string, release: string, s: Setting, n: number, e: unknown): ReplayRun {
  return {
    kernel,
    release,
    setting: s,
    sysctls: {},
    packets: { replayed: n, sent: 0, received: 0 },
    invalid: 0,
    invalidFlows: 0,
    reasons: [],
    flows: [],
    packetVerdicts: [],
    replayMs: 0,
    packetsPerSecond: 0,
    problems: [],
    error: e instanceof CtlabError ? e.message : ((e as Error).message ?? String(e)),
  };
}

export async function writeOutputs(r: ReplayResult, outDir: string): Promise<void> {
  await writeFile(join(outDir, 'replay.json'), `${JSON.stringify(r, null, 2)}\n`);
  await writeFile(join(outDir, 'summary.md'), renderReplayMarkdown(r));
  await writeFile(join(outDir, 'junit.xml'), renderReplayJunit(r));
  await writeFile(join(outDir, 'report.html'), renderReplayHtml(r));
}

/** Read a replay.json (a VM guest's). */
export async function readReplayResult(dir: string): Promise<ReplayResult> {
  const f = join(dir, 'replay.json');
  try {
    return JSON.parse(await readFile(f, 'utf8')) as ReplayResult;
  } catch (e) {
    throw new CtlabError('LAB', `no readable replay.json in ${dir}`, {
      cause: e,
      hint: 'the replay on that kernel did not finish; see vm/console.log in the same folder',
    });
  }
}
