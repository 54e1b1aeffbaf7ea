// Throughput of the middlebox on one veth path (npm run bench:middlebox; root):
// kernel forwarding (no NFQUEUE rule) vs. the middlebox in pass-through vs. the middlebox with
// ISN + SACK rewriting, iperf3 forward and reverse, medians of N runs, plus where the time goes
// (the middlebox process's CPU from /proc/<pid>/stat, the machine's from /proc/stat, and the
// binding's split between JS and the recv/send syscalls). Writes bench/results/middlebox.json.

import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { BUNDLES } from '../src/bundles.js';
import type { MiddleboxProfile, PathModel } from '../src/scenario/model.js';
import { buildAddon, createTopo, iperfResult, missingPrereqs, SERVER_IP, type Topo } from './netns.js';
import { repoRoot } from '../src/util/repo-root.js';
import { sleep } from '../src/util/sleep.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const QUEUE = 0;

const baseProfile: MiddleboxProfile = {
  name: 'transparent',
  isn: { client: false, server: false },
  sackTranslation: true,
  options: { sackPermitted: { strip: 'none' }, windowScale: { strip: 'none' }, timestamps: { strip: 'none' } },
};
const rewriteProfile: MiddleboxProfile = {
  ...baseProfile,
  name: 'isn+sack',
  isn: { client: true, server: true },
  sackTranslation: true,
};
const path: PathModel = { delayMs: 0, rateMbit: 0, loss: { kind: 'none' }, reorder: { rate: 0, extraDelayMs: 0 } };

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const TICK = 100; // USER_HZ; /proc/<pid>/stat utime/stime are in these ticks on Linux

/** Busy and total jiffies of the whole machine. */
function machineCpu(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + (f[4] ?? 0);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}
/** utime + stime ticks of a process. */
function procCpu(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // fields 14 and 15 (utime, stime)
}

interface RunSample {
  mbps: number;
  retransmits: number;
  mbCpuCores?: number;
  machineBusyCores: number;
}

async function iperf(topo: Topo, reverse: boolean, mbPid?: number): Promise<RunSample> {
  // iperf3's server takes a moment to accept the next test; it answers "busy" until then.
  for (let attempt = 1; ; attempt++) {
    await sleep(300);
    try {
      return iperfOnce(topo, reverse, mbPid);
    } catch (err) {
      if (attempt >= 5 || !/busy/.test((err as Error).message)) throw err;
    }
  }
}

function iperfOnce(topo: Topo, reverse: boolean, mbPid?: number): RunSample {
  const m0 = machineCpu();
  const p0 = mbPid ? procCpu(mbPid) : 0;
  const t0 = process.hrtime.bigint();
  const out = topo.exec(
    topo.client,
    ['iperf3', '-c', SERVER_IP, '-t', String(SECONDS), '-J', ...(reverse ? ['-R'] : [])],
    { timeoutMs: (SECONDS + 20) * 1000 },
  );
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const m1 = machineCpu();
  const r = iperfResult(out);
  const sample: RunSample = {
    mbps: r.bps / 1e6,
    retransmits: r.retransmits,
    machineBusyCores: ((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * cpus().length,
  };
  if (mbPid) sample.mbCpuCores = (procCpu(mbPid) - p0) / TICK / wall;
  return sample;
}

interface ModeResult {
  forward: RunSample[];
  reverse: RunSample[];
  forwardMbps: number;
  reverseMbps: number;
  binding?: Record<string, number>;
  engine?: Record<string, unknown>;
  kernelQueue?: unknown;
  /** Share of the middlebox's wall time in the JS batch callback, and in recv/send syscalls. */
  timeSplit?: {
    jsFraction: number;
    recvFraction: number;
    sendFraction: number;
    wallSeconds: number;
    packetsPerBatch: number;
  };
}

async function startMb(
  topo: Topo,
  work: string,
  addon: string,
  profile: MiddleboxProfile,
): Promise<{ child: ChildProcess; counters: string; started: number }> {
  const cfg = join(work, `mb-${profile.name}.json`);
  const counters = join(work, `counters-${profile.name}.json`);
  const batch = process.env.BENCH_BATCH ? { batch: Number(process.env.BENCH_BATCH) } : {};
  writeFileSync(
    cfg,
    JSON.stringify({
      queue: QUEUE,
      seed: 1,
      profile,
      path,
      countersFile: counters,
      flowsFile: join(work, `flows-${profile.name}.jsonl`),
      ...batch,
    }),
  );
  const main = join(repoRoot(), BUNDLES.middlebox.out);
  const child = topo.spawn(topo.mb, [process.execPath, main, '--config', cfg], {
    env: { ...process.env, CTLAB_NFQUEUE_ADDON: addon },
  });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += String(d);
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
      if (/^ready$/m.test(out)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`middlebox exited ${code} before ready: ${err}`)));
  });
  child.on('exit', (code) => {
    if (code !== 0) process.stderr.write(`middlebox (${profile.name}) exited ${code}: ${err}\n`);
  });
  return { child, counters, started: Date.now() };
}

async function runMode(topo: Topo, work: string, addon: string, profile: MiddleboxProfile | null): Promise<ModeResult> {
  topo.forwardToQueue(profile !== null);
  const mb = profile ? await startMb(topo, work, addon, profile) : null;
  const res: ModeResult = { forward: [], reverse: [], forwardMbps: 0, reverseMbps: 0 };
  try {
    for (let i = 0; i < RUNS; i++) {
      res.forward.push(await iperf(topo, false, mb?.child.pid));
      res.reverse.push(await iperf(topo, true, mb?.child.pid));
    }
  } finally {
    if (mb) {
      const exited = new Promise((r) => mb.child.on('exit', r));
      mb.child.kill('SIGTERM');
      await exited;
      const c = JSON.parse(readFileSync(mb.counters, 'utf8'));
      res.binding = c.binding;
      res.engine = c.engine;
      res.kernelQueue = c.kernel;
      const wall = c.uptimeMs / 1000;
      res.timeSplit = {
        wallSeconds: wall,
        jsFraction: c.binding.nsInJs / 1e9 / wall,
        recvFraction: c.binding.nsRecv / 1e9 / wall,
        sendFraction: c.binding.nsSend / 1e9 / wall,
        packetsPerBatch: c.binding.packets / Math.max(1, c.binding.batches),
      };
    }
    topo.forwardToQueue(false);
  }
  res.forwardMbps = median(res.forward.map((s) => s.mbps));
  res.reverseMbps = median(res.reverse.map((s) => s.mbps));
  return res;
}

async function main(): Promise<void> {
  const missing = missingPrereqs(['iperf3', 'gcc']);
  if (missing.length) throw new Error(`bench:middlebox needs ${missing.join(', ')}`);
  const work = mkdtempSync(join(tmpdir(), 'ctlab-mbbench-'));
  const loadBefore = loadavg();
  const addon = buildAddon(join(work, 'native'));
  const topo = createTopo('ctbench', { queue: QUEUE });
  let iperfd: ChildProcess | undefined;
  try {
    iperfd = topo.spawn(topo.server, ['iperf3', '-s', '-B', SERVER_IP]);
    await sleep(500);
    process.stderr.write(
      `bench: ${RUNS} runs x ${SECONDS} s per mode and direction; load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')}\n`,
    );
    const kernel = await runMode(topo, work, addon, null);
    process.stderr.write(
      `  kernel forwarding done: ${kernel.forwardMbps.toFixed(0)} / ${kernel.reverseMbps.toFixed(0)} Mbit/s\n`,
    );
    const pass = await runMode(topo, work, addon, baseProfile);
    process.stderr.write(
      `  pass-through done: ${pass.forwardMbps.toFixed(0)} / ${pass.reverseMbps.toFixed(0)} Mbit/s\n`,
    );
    const rewrite = await runMode(topo, work, addon, rewriteProfile);
    process.stderr.write(
      `  isn+sack rewrite done: ${rewrite.forwardMbps.toFixed(0)} / ${rewrite.reverseMbps.toFixed(0)} Mbit/s\n`,
    );
    const loadAfter = loadavg();

    const r2 = (x: number) => Math.round(x * 100) / 100;
    const result = {
      date: new Date().toISOString(),
      kernelRelease: release(),
      node: process.version,
      cpus: cpus().length,
      loadAverageBefore: loadBefore.map(r2),
      loadAverageAfter: loadAfter.map(r2),
      method: `iperf3 -t ${SECONDS}, median of ${RUNS}, veth client<->mb<->server in network namespaces, offloads off, MTU 1500; forward = client->server, reverse = -R`,
      kernelForwardMbps: r2(kernel.forwardMbps),
      passthroughMbps: r2(pass.forwardMbps),
      rewriteMbps: r2(rewrite.forwardMbps),
      passthroughRatio: r2(pass.forwardMbps / kernel.forwardMbps),
      rewriteRatio: r2(rewrite.forwardMbps / kernel.forwardMbps),
      reverse: {
        kernelForwardMbps: r2(kernel.reverseMbps),
        passthroughMbps: r2(pass.reverseMbps),
        rewriteMbps: r2(rewrite.reverseMbps),
        passthroughRatio: r2(pass.reverseMbps / kernel.reverseMbps),
        rewriteRatio: r2(rewrite.reverseMbps / kernel.reverseMbps),
      },
      targets: { rewriteRatio: 0.35, passthroughRatio: 0.5 },
      modes: { kernel, passthrough: pass, rewrite },
    };
    const outDir = join(repoRoot(), 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    const outFile = join(outDir, 'middlebox.json');
    writeFileSync(`${outFile}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
    renameSync(`${outFile}.tmp`, outFile);

    const row = (name: string, m: ModeResult) => {
      const cpu = m.forward.concat(m.reverse).map((s) => s.mbCpuCores ?? 0);
      const ts = m.timeSplit;
      return (
        `${name.padEnd(22)} ${m.forwardMbps.toFixed(0).padStart(7)} ${(m.forwardMbps / kernel.forwardMbps).toFixed(2).padStart(6)}   ${m.reverseMbps.toFixed(0).padStart(7)} ${(m.reverseMbps / kernel.reverseMbps).toFixed(2).padStart(6)}   ` +
        (ts
          ? `${median(cpu).toFixed(2).padStart(5)}  ${(ts.jsFraction * 100).toFixed(0).padStart(3)}% ${(ts.recvFraction * 100).toFixed(0).padStart(3)}% ${(ts.sendFraction * 100).toFixed(0).padStart(3)}%  ${ts.packetsPerBatch.toFixed(1)}`
          : '')
      );
    };
    console.log(
      `\nmiddlebox throughput (${result.kernelRelease}, ${result.cpus} CPUs, load before ${result.loadAverageBefore.join(' ')}, after ${result.loadAverageAfter.join(' ')})`,
    );
    console.log(
      `${'mode'.padEnd(22)} ${'fwd Mb/s'.padStart(7)} ${'ratio'.padStart(6)}   ${'rev Mb/s'.padStart(7)} ${'ratio'.padStart(6)}   mbCPU   js  recv send  pkts/batch`,
    );
    console.log(row('kernel forwarding', kernel));
    console.log(row('middlebox pass-through', pass));
    console.log(row('middlebox isn+sack', rewrite));
    console.log(
      `\nrewriteRatio ${result.rewriteRatio} (target >= 0.35), passthroughRatio ${result.passthroughRatio} (target >= 0.5); written to ${outFile}`,
    );
    if (loadBefore[0]! > 0.5)
      console.log(`note: the machine was busy (load ${loadBefore[0]!.toFixed(2)}): figures may be low`);
  } finally {
    iperfd?.kill();
    topo.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench:middlebox: ${(err as Error).message}\n`);
  process.exit(1);
});
