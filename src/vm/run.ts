// runScenarioInVm: boot a kernel under qemu with the lab's initramfs, run the scenario inside
// with the namespace runtime (or the smoke job), and bring the guest's run folder back through
// a raw scratch disk (the guest writes a tar stream onto it; the host extracts it).
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CtlabError } from '../errors.js';
import { run } from './cache.js';
import { cleanLine, diagnose, feedConsole, newConsoleState, stampLine, type ConsoleState } from './console.js';
import { baseCpio, toolsCpio, writeJobCpio } from './guest.js';
import { repoRoot } from '../util/repo-root.js';
import { shq } from '../util/shq.js';
import { modulesCpio, type KernelImage } from './kernel.js';
import { LOAD_MODULES } from './modules.js';
import { chooseAccel, qemuArgs, rememberAccel, runQemu, type Accel } from './qemu.js';

export interface VmRunOptions {
  kernel: KernelImage;
  scenarioFile: string;
  /** Extra arguments for `ctlab run` in the guest (e.g. ["--seed", "7", "--variant", "flag-off"]). */
  args: string[];
  /** Receives the guest's run folder (result.json, reports, pcaps) and vm/ (console.log, job.log, dmesg.txt). */
  outDir: string;
  progress: (m: string) => void;
  /** Hard limit for the whole VM (boot, job, results). Default 45 min. */
  timeoutMs?: number;
  /** 'run' (default): `ctlab run --runtime netns`; 'matrix': `ctlab matrix --runtime netns`; 'smoke': the kernel smoke checks (lab/vm/smoke.mjs). */
  job?: 'run' | 'matrix' | 'smoke' | 'replay';
  /** More input files for the job: name under /job → file on the host (the replay job's capture). */
  files?: Record<string, string>;
  cpus?: number;
  memMb?: number;
}

export interface VmRunResult {
  release: string;
  accel: Accel;
  /** qemu start to the guest's init. */
  bootMs: number;
  /** The job inside the guest (JOB_START to JOB_END, host clock). */
  jobMs: number;
  /** Everything, including preparing the initramfs and extracting the results. */
  totalMs: number;
  /** Preparing kernel modules, guest root, tools and job (mostly cache hits after the first run). */
  prepareMs: number;
  /** The timestamped serial console log (in outDir/vm/). */
  consoleLog: string;
  /** The job's exit code in the guest (ctlab run's: 0 passed, 1 expectation failed, ...). */
  exitCode: number;
  /** Modules the guest could not load (missing from this kernel). */
  missingModules: string[];
}

/** How long a first KVM boot may take to reach init before the kernel is declared TCG-only. */
const KVM_PROBE_MS = 25_000;
const DEFAULT_TIMEOUT_MS = 45 * 60_000;
const SCRATCH_BYTES = 4 * 1024 ** 3;

async function concat(out: string, parts: string[]): Promise<void> {
  const ws = createWriteStream(out);
  for (const p of parts) await pipeline(createReadStream(p), ws, { end: false });
  await new Promise<void>((res, rej) => ws.end((e?: Error | null) => (e ? rej(e) : res())));
}

export async function runScenarioInVm(o: VmRunOptions): Promise<VmRunResult> {
  const t0 = Date.now();
  const k = o.kernel;
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const tag = `[vm ${k.release}]`;
  const progress = (m: string) => o.progress(`${tag} ${m}`);
  await mkdir(join(o.outDir, 'vm'), { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'ctlab-vm-'));
  try {
    // 1. initramfs: base root + this kernel's modules + tools + job
    const [base, mods, tools] = await Promise.all([baseCpio(progress), modulesCpio(k, progress), toolsCpio(progress)]);
    const job = join(work, 'job.cpio');
    const jobScript = join(
      repoRoot(),
      'lab',
      'vm',
      o.job === 'smoke' ? 'job-smoke.sh' : o.job === 'replay' ? 'job-replay.sh' : 'job-run.sh',
    );
    // The guest job gets a deadline inside the host's, so a stuck lab still returns partial results.
    const guestJobS = Math.max(60, Math.floor((timeoutMs - 120_000) / 1000));
    writeJobCpio(job, {
      scenarioFile: o.job === 'smoke' || o.job === 'replay' ? undefined : o.scenarioFile,
      files: o.files,
      jobScript,
      env: {
        CTLAB_VM_JOB_TIMEOUT: String(guestJobS),
        CTLAB_VM_RELEASE: k.release,
        CTLAB_VM_COMMAND: o.job === 'matrix' ? 'matrix' : 'run',
      },
      args: o.args,
      modules: LOAD_MODULES,
    });
    const initrd = join(work, 'initrd.img');
    await concat(initrd, [base, ...(mods ? [mods] : []), tools, job]);
    const scratch = join(work, 'scratch.img');
    const fh = await open(scratch, 'w');
    await fh.truncate(SCRATCH_BYTES); // sparse
    await fh.close();
    const prepareMs = Date.now() - t0;

    // 2. boot (KVM first if it may work, TCG otherwise)
    let choice = await chooseAccel(k.key);
    progress(
      `booting ${k.source} under ${choice.accel.toUpperCase()} (${choice.why}); prepared in ${(prepareMs / 1000).toFixed(1)} s`,
    );
    const consoleLog = join(o.outDir, 'vm', 'console.log');
    let attempt = await boot(
      o,
      k,
      choice.accel,
      choice.probe,
      initrd,
      scratch,
      consoleLog,
      timeoutMs - (Date.now() - t0),
      progress,
    );
    if (choice.probe) {
      if (attempt.st.initAt === undefined) {
        const why =
          attempt.qemu.stopped ?? attempt.qemu.stderr.trim().split('\n').pop() ?? `qemu exit ${attempt.qemu.exitCode}`;
        await rememberAccel(k.key, 'tcg', `KVM did not boot ${k.release} here (${why})`);
        progress(`KVM did not boot this kernel (${why}); falling back to TCG (remembered)`);
        choice = { accel: 'tcg', probe: false, why: 'fallback' };
        const fh2 = await open(scratch, 'r+');
        await fh2.truncate(0);
        await fh2.truncate(SCRATCH_BYTES);
        await fh2.close();
        attempt = await boot(o, k, 'tcg', false, initrd, scratch, consoleLog, timeoutMs - (Date.now() - t0), progress);
      } else {
        await rememberAccel(k.key, 'kvm', `KVM booted ${k.release} here`);
      }
    }
    const { st, qemu } = attempt;
    const failure = diagnose(st, {
      timedOut: qemu.timedOut,
      timeoutMs,
      qemuExit: qemu.exitCode,
      qemuStderr: qemu.stderr,
    });

    // 3. results: the tar stream on the scratch disk (even after a failure: it may hold partial results)
    if (st.tarOk) await extractResults(scratch, work, o.outDir);
    if (failure) {
      throw new CtlabError('LAB', `kernel ${k.release} (${choice.accel}): ${failure}`, {
        timedOut: qemu.timedOut,
        exitCode: qemu.exitCode,
        stderr: st.tail.slice(-15).join('\n'),
        hint: `see the guest's console log: ${consoleLog}`,
      });
    }
    if (st.release && st.release !== k.release) {
      throw new CtlabError('LAB', `the guest ran kernel ${st.release}, expected ${k.release}`, {
        hint: `check the image ${k.image}`,
      });
    }
    const rc = st.jobRc ?? 255;
    if (rc === 124 || rc === 137) {
      throw new CtlabError(
        'LAB',
        `the job in the ${k.release} guest ran out of time (${guestJobS} s); partial results are in ${o.outDir}`,
        { timedOut: true, exitCode: rc, hint: 'raise the VM timeout, or run fewer variants per kernel' },
      );
    }
    const bootMs = st.initAt ?? 0;
    const jobMs = (st.jobEndAt ?? 0) - (st.jobStartAt ?? 0);
    const totalMs = Date.now() - t0;
    progress(
      `done: boot ${(bootMs / 1000).toFixed(1)} s, job ${(jobMs / 1000).toFixed(1)} s (exit ${rc}), total ${(totalMs / 1000).toFixed(1)} s`,
    );
    return {
      release: st.release ?? k.release,
      accel: choice.accel,
      bootMs,
      jobMs,
      totalMs,
      prepareMs,
      consoleLog,
      exitCode: rc,
      missingModules: st.missingModules,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function boot(
  o: VmRunOptions,
  k: KernelImage,
  accel: Accel,
  probe: boolean,
  initrd: string,
  scratch: string,
  consoleLog: string,
  timeoutMs: number,
  progress: (m: string) => void,
): Promise<{ st: ConsoleState; qemu: Awaited<ReturnType<typeof runQemu>> }> {
  const st = newConsoleState();
  const log: WriteStream = createWriteStream(consoleLog, { flags: 'a' });
  log.write(`host: ${new Date().toISOString()} kernel=${k.release} (${k.source}) accel=${accel}\n`);
  const args = qemuArgs({ accel, kernel: k.image, initrd, scratch, cpus: o.cpus, memMb: o.memMb });
  log.write(`host: qemu-system-x86_64 ${args.map((a) => (/^[\w,=./:+-]+$/.test(a) ? a : shq(a))).join(' ')}\n`);
  const qemu = await runQemu(args, {
    timeoutMs: Math.max(1000, timeoutMs),
    onLine: (ms, line) => {
      const kind = feedConsole(st, ms, line);
      const clean = cleanLine(line);
      log.write(`${stampLine(ms, clean)}\n`);
      const marker = /CTLAB-VM ((INIT|MODULES|JOB_END|FAIL).*)$/.exec(clean);
      if (kind === 'marker' && marker) progress(`${marker[1]!.trim()} (+${(ms / 1000).toFixed(1)} s)`);
      else if (kind === 'job') progress(`guest: ${clean}`);
    },
    check: probe
      ? (ms) => (st.initAt === undefined && ms > KVM_PROBE_MS ? `no init after ${KVM_PROBE_MS / 1000} s` : undefined)
      : undefined,
  });
  log.write(
    `host: ${new Date().toISOString()} qemu exit=${qemu.exitCode}${qemu.timedOut ? ' (timed out)' : ''}${qemu.stopped ? ` (stopped: ${qemu.stopped})` : ''} after ${(qemu.ms / 1000).toFixed(1)} s\n`,
  );
  if (qemu.stderr.trim()) log.write(`host: qemu stderr: ${qemu.stderr.trim()}\n`);
  await new Promise<void>((res) => log.end(res));
  return { st, qemu };
}

/**
 * Extract the guest's tar stream: run/* goes to outDir, vm/* to outDir/vm (next to console.log).
 * GNU tar stops at the archive's end-of-file blocks; the rest of the disk is zeros.
 */
export async function extractResults(scratch: string, work: string, outDir: string): Promise<void> {
  const x = join(work, 'x');
  await mkdir(x, { recursive: true });
  await run('tar', ['-xf', scratch, '-C', x, '--no-same-owner'], {
    code: 'LAB',
    hint: "the guest's result archive is damaged; see vm/console.log",
  });
  await moveInto(join(x, 'run'), outDir);
  await moveInto(join(x, 'vm'), join(outDir, 'vm'));
}

async function moveInto(src: string, dst: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(src);
  } catch {
    return;
  }
  await mkdir(dst, { recursive: true });
  for (const n of names) {
    await rm(join(dst, n), { recursive: true, force: true });
    try {
      await rename(join(src, n), join(dst, n));
    } catch {
      await copyFile(join(src, n), join(dst, n)); // a file across file systems
    }
  }
}

/** Read a smoke job's result (outDir/smoke.json). */
export async function readSmoke(
  outDir: string,
): Promise<{ release: string; ok: boolean; checks: Record<string, unknown>; errors: string[] }> {
  return JSON.parse(await readFile(join(outDir, 'smoke.json'), 'utf8'));
}
