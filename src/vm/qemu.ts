// qemu for one guest: the command line, KVM-or-TCG choice, and a supervised run that streams the
// serial console. /dev/kvm can exist and still not boot a stock kernel (a paravirtual KVM that
// aborts on an MSR or hangs): the first boot of a kernel under KVM has a short deadline to reach
// init; if it misses it, that kernel is recorded as TCG-only (cache/accel/<key>.json).
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CtlabError } from '../errors.js';
import { cacheRoot, writeFileAtomic } from './cache.js';

export type Accel = 'kvm' | 'tcg';

export interface QemuConfig {
  accel: Accel;
  kernel: string;
  initrd: string;
  /** Raw scratch disk the guest writes its results to (virtio-blk, serial ctlab-out). */
  scratch: string;
  cpus?: number;
  memMb?: number;
  /** Extra kernel command line. */
  append?: string;
}

export const KERNEL_CMDLINE =
  'console=ttyS0 rdinit=/init panic=-1 quiet loglevel=3 log_buf_len=16M random.trust_cpu=on';

export function qemuArgs(c: QemuConfig): string[] {
  return [
    '-accel',
    c.accel,
    // TCG: qemu 7.2's emulated cmpxchg16b double-faults 6.12 kernels; without cx16 they boot.
    '-cpu',
    c.accel === 'kvm' ? 'host' : 'max,cx16=off',
    '-smp',
    String(c.cpus ?? 2),
    '-m',
    `${c.memMb ?? 2048}M`,
    '-nographic',
    '-no-reboot',
    '-nic',
    'none',
    '-device',
    'virtio-rng-pci',
    '-drive',
    `file=${c.scratch},format=raw,if=none,id=out,cache=unsafe`,
    '-device',
    'virtio-blk-pci,drive=out,serial=ctlab-out',
    '-kernel',
    c.kernel,
    '-initrd',
    c.initrd,
    '-append',
    c.append ? `${KERNEL_CMDLINE} ${c.append}` : KERNEL_CMDLINE,
  ];
}

/** Can this process open /dev/kvm read-write? */
export async function kvmOpenable(): Promise<boolean> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function accelFile(kernelKey: string): string {
  return join(cacheRoot(), 'accel', `${kernelKey}.json`);
}

/** A remembered verdict for this kernel on this machine, if any. */
export async function rememberedAccel(kernelKey: string): Promise<{ accel: Accel; reason: string } | undefined> {
  try {
    return JSON.parse(await readFile(accelFile(kernelKey), 'utf8')) as { accel: Accel; reason: string };
  } catch {
    return undefined;
  }
}

export async function rememberAccel(kernelKey: string, accel: Accel, reason: string): Promise<void> {
  await writeFileAtomic(accelFile(kernelKey), `${JSON.stringify({ accel, reason, at: new Date().toISOString() })}\n`);
}

/** What to try first: $CTLAB_VM_ACCEL, else the remembered verdict, else KVM when /dev/kvm opens. */
export async function chooseAccel(
  kernelKey: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ accel: Accel; probe: boolean; why: string }> {
  const forced = env.CTLAB_VM_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, probe: false, why: `CTLAB_VM_ACCEL=${forced}` };
  if (forced) throw new CtlabError('SCENARIO', `CTLAB_VM_ACCEL=${forced}: expected kvm or tcg`);
  const r = await rememberedAccel(kernelKey);
  if (r) return { accel: r.accel, probe: false, why: r.reason };
  if (await kvmOpenable())
    return {
      accel: 'kvm',
      probe: true,
      why: 'first boot of this kernel under KVM (falls back to TCG if it does not reach init)',
    };
  return { accel: 'tcg', probe: false, why: '/dev/kvm is not usable' };
}

export interface QemuRun {
  exitCode: number | null;
  timedOut: boolean;
  /** Stopped because `stopWhen` said so (e.g. a KVM probe that missed its deadline). */
  stopped?: string;
  stderr: string;
  ms: number;
}

/**
 * Run qemu, calling onLine(ms, line) for each console line. Kills it after timeoutMs, or when
 * check() (called every second with the elapsed ms) returns a reason.
 */
export function runQemu(
  args: string[],
  o: {
    timeoutMs: number;
    onLine: (ms: number, line: string) => void;
    check?: (ms: number) => string | undefined;
    bin?: string;
  },
): Promise<QemuRun> {
  const bin = o.bin ?? 'qemu-system-x86_64';
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let pending = '';
    let timedOut = false;
    let stopped: string | undefined;
    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    // never leave a VM behind when ctlab itself exits
    process.once('exit', kill);
    child.once('exit', () => process.removeListener('exit', kill));
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, o.timeoutMs);
    const check = o.check;
    const ticker = check
      ? setInterval(() => {
          const why = check(Date.now() - t0);
          if (why && !stopped) {
            stopped = why;
            kill();
          }
        }, 1000)
      : undefined;
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop()!; // split returns at least one element
      const ms = Date.now() - t0;
      for (const l of lines) o.onLine(ms, l);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-16_000);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (ticker) clearInterval(ticker);
      reject(
        new CtlabError('HOST', e.code === 'ENOENT' ? `${bin} is not installed` : `${bin}: ${e.message}`, {
          cause: e,
          hint: 'apt-get install --no-install-recommends qemu-system-x86',
        }),
      );
    });
    // 'exit', not 'close': a child that inherited the console pipe must not keep us waiting.
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (ticker) clearInterval(ticker);
      const done = () => {
        if (pending) {
          o.onLine(Date.now() - t0, pending);
          pending = '';
        }
        resolve({ exitCode: code, timedOut, stopped, stderr, ms: Date.now() - t0 });
      };
      // let the last console bytes arrive, but not forever
      const grace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        done();
      }, 1000);
      if (child.stdout.closed) {
        clearTimeout(grace);
        done();
      } else
        child.stdout.once('close', () => {
          clearTimeout(grace);
          done();
        });
    });
  });
}
