import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseAccel, qemuArgs, rememberAccel, runQemu } from '../../../src/vm/qemu.js';

const base = { kernel: '/k/vmlinuz', initrd: '/w/initrd.img', scratch: '/w/scratch.img' };
const argAfter = (a: string[], flag: string) => a[a.indexOf(flag) + 1];

describe('qemu command line', () => {
  it('TCG: cx16 off (6.12 double-faults on emulated cmpxchg16b), 2 vCPUs, 2 GB, no NIC', () => {
    const a = qemuArgs({ accel: 'tcg', ...base });
    expect(argAfter(a, '-accel')).toBe('tcg');
    expect(argAfter(a, '-cpu')).toBe('max,cx16=off');
    expect(argAfter(a, '-smp')).toBe('2');
    expect(argAfter(a, '-m')).toBe('2048M');
    expect(argAfter(a, '-nic')).toBe('none');
    expect(a).toContain('-no-reboot');
    expect(a).toContain('virtio-blk-pci,drive=out,serial=ctlab-out');
    expect(argAfter(a, '-append')).toMatch(/console=ttyS0 .*rdinit=\/init .*panic=-1/);
  });
  it('KVM uses the host CPU', () => {
    expect(argAfter(qemuArgs({ accel: 'kvm', ...base, cpus: 4, memMb: 4096 }), '-cpu')).toBe('host');
  });
});

describe('accelerator choice', () => {
  it('honours CTLAB_VM_ACCEL and a remembered verdict', async () => {
    process.env.CTLAB_CACHE = await mkdtemp(join(tmpdir(), 'ctlab-cache-'));
    try {
      expect(await chooseAccel('k1', { CTLAB_VM_ACCEL: 'tcg' })).toMatchObject({ accel: 'tcg', probe: false });
      await expect(chooseAccel('k1', { CTLAB_VM_ACCEL: 'xen' })).rejects.toThrow(/kvm or tcg/);
      await rememberAccel('k1', 'tcg', 'KVM did not boot it');
      expect(await chooseAccel('k1', {})).toEqual({ accel: 'tcg', probe: false, why: 'KVM did not boot it' });
      const fresh = await chooseAccel('k2', {});
      // no verdict yet: probe KVM if /dev/kvm opens, else TCG without probing
      expect(fresh.probe).toBe(fresh.accel === 'kvm');
    } finally {
      delete process.env.CTLAB_CACHE;
    }
  });
});

describe('runQemu supervision (with sh standing in for qemu)', () => {
  it('streams lines with times and reports the exit code', async () => {
    const lines: string[] = [];
    const r = await runQemu(['-c', 'echo one; echo two; printf three; exit 3'], {
      bin: 'sh',
      timeoutMs: 5000,
      onLine: (_ms, l) => lines.push(l),
    });
    expect(lines).toEqual(['one', 'two', 'three']);
    expect(r).toMatchObject({ exitCode: 3, timedOut: false });
  });
  it('kills at the timeout', async () => {
    const r = await runQemu(['-c', 'sleep 20'], { bin: 'sh', timeoutMs: 300, onLine: () => {} });
    expect(r.timedOut).toBe(true);
    expect(r.ms).toBeLessThan(20_000); // killed, not waited for
  });
  it('stops when the check says so (the KVM probe deadline)', async () => {
    const r = await runQemu(['-c', 'sleep 20'], {
      bin: 'sh',
      timeoutMs: 20_000,
      onLine: () => {},
      check: (ms) => (ms > 500 ? 'no init' : undefined),
    });
    expect(r).toMatchObject({ stopped: 'no init', timedOut: false });
  });
  it('a missing qemu is a HOST error that says what to install', async () => {
    await expect(runQemu([], { bin: 'no-such-qemu-binary', timeoutMs: 1000, onLine: () => {} })).rejects.toMatchObject({
      code: 'HOST',
      hint: expect.stringMatching(/qemu-system-x86/),
    });
  });
});
