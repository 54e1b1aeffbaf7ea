import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunResult, VariantResult } from '../../../src/result/types.js';
import { runResult, variantResult } from '../result/variant.js';
import { kernelDirName, parseKernelList, runOnKernels, type KernelRunner } from '../../../src/run/kernels.js';

function variant(name: string, kernel: string, drops: number): VariantResult {
  return variantResult({
    name,
    kernel,
    sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': name === 'flag-on' ? '1' : '0' },
    server: { invalidDrops: drops, conntrackInvalid: drops },
    expectations: [{ text: 'records == 100', passed: true, actual: 100 }],
    dir: name,
  });
}

/** A runner that writes a real run folder per kernel, as the host run or a VM's job would. */
function fakeRunner(releases: Record<string, string>, fail: string[] = []): KernelRunner {
  return async (spec, dir) => {
    if (fail.includes(spec)) throw new Error(`qemu: kernel ${spec} panicked`);
    const release = releases[spec]!;
    const drops = release.startsWith('5.') ? 172 : 0;
    const result = runResult([variant('flag-off', release, drops), variant('flag-on', release, 0)], {
      scenario: 'late-ack',
      scenarioFile: '/s/late-ack.yaml',
      seed: 3,
      kernel: release,
      runId: `in-${spec}`,
      startedAt: '2026-11-25T00:00:00Z',
      durationMs: 5,
      verdict: `verdict ${spec}`,
    });
    for (const v of result.variants) await mkdir(join(dir, v.dir), { recursive: true });
    await writeFile(join(dir, 'result.json'), JSON.stringify(result));
    return {
      result,
      release,
      runtime: spec === 'host' ? 'docker' : 'netns',
      vm: spec === 'host' ? null : { accel: 'tcg', bootMs: 9000, jobMs: 20000 },
    };
  };
}

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('--kernel', () => {
  it('parses series, host and paths (whose modules part has a comma of its own)', () => {
    expect(parseKernelList('5.10,6.1,host')).toEqual(['5.10', '6.1', 'host']);
    expect(parseKernelList('path:/k/bzImage,/k/modules/6.6.1,6.1')).toEqual([
      'path:/k/bzImage,/k/modules/6.6.1',
      '6.1',
    ]);
    expect(() => parseKernelList('5.10,,host')).toThrow(/empty entry/);
    expect(() => parseKernelList('linux-5')).toThrow(/"linux-5" is not a kernel/);
    expect(() => parseKernelList('6.1,6.1')).toThrow(/twice/);
  });
  it('gives each kernel its own folder', () => {
    expect(kernelDirName('5.10')).toBe('kernel-5.10');
    expect(kernelDirName('host')).toBe('kernel-host');
    expect(kernelDirName('path:/k/bzImage-6.6,/k/m')).toBe('kernel-bzImage-6.6');
  });
});

describe('runOnKernels', () => {
  it('merges every kernel into one result, oldest kernel first, variants labelled and nested', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctlab-kernels-'));
    const r = await runOnKernels({
      outDir: dir,
      kernels: ['host', '5.10'],
      runId: 'r1',
      runner: fakeRunner({ host: '6.18.0', '5.10': '5.10.0-35-cloud-amd64' }),
    });
    expect(r.variants.map((v) => `${v.name}@${v.kernel}:${v.dir}`)).toEqual([
      'flag-off@5.10.0-35-cloud-amd64:kernel-5.10/flag-off',
      'flag-on@5.10.0-35-cloud-amd64:kernel-5.10/flag-on',
      'flag-off@6.18.0:kernel-host/flag-off',
      'flag-on@6.18.0:kernel-host/flag-on',
    ]);
    expect(r.kernelRuns!.map((k) => [k.spec, k.release, k.vm?.accel ?? 'native'])).toEqual([
      ['5.10', '5.10.0-35-cloud-amd64', 'tcg'],
      ['host', '6.18.0', 'native'],
    ]);
    expect(r.passed).toBe(true);
    expect(r.verdict).toBe('On 5.10.0-35-cloud-amd64: verdict 5.10 On 6.18.0: verdict host');
    const onDisk = JSON.parse(await readFile(join(dir, 'result.json'), 'utf8')) as RunResult;
    expect(onDisk.kernel).toBe('5.10.0-35-cloud-amd64, 6.18.0');
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('flag-off @ 5.10.0-35-cloud-amd64');
    expect(html).toContain('Kernels side by side');
    expect(html).toMatch(
      /on 5\.10\.0-35-cloud-amd64 the harvest completed with 172 INVALID drops; on 6\.18\.0 the harvest completed with 0 INVALID drops/,
    );
  });
  it('records a kernel that could not run, runs the others, and fails the run', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctlab-kernels-'));
    const r = await runOnKernels({
      outDir: dir,
      kernels: ['5.10', '6.1'],
      runId: 'r2',
      runner: fakeRunner({ '6.1': '6.1.0-40-cloud-amd64' }, ['5.10']),
    });
    expect(r.passed).toBe(false);
    expect(r.variants.every((v) => v.kernel === '6.1.0-40-cloud-amd64')).toBe(true);
    expect(r.problems).toEqual(['kernel 5.10 did not run: qemu: kernel 5.10 panicked']);
    expect(r.verdict).toMatch(/^Inconclusive: kernel 5\.10 did not run/);
    expect(r.kernelRuns!.find((k) => k.spec === '5.10')!.error).toBe('qemu: kernel 5.10 panicked');
  });
  it('fails with every reason when no kernel ran', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctlab-kernels-'));
    await expect(
      runOnKernels({ outDir: dir, kernels: ['5.10'], runId: 'r3', runner: fakeRunner({}, ['5.10']) }),
    ).rejects.toThrow(/did not run on any kernel: 5\.10: qemu: kernel 5\.10 panicked/);
  });
});
