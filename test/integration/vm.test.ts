// The VM runner end to end: Debian's 6.1 cloud kernel under qemu (KVM when it boots here, else
// TCG), the smoke job (namespaces, iptables, NFQUEUE through the lab's addon, conntrack) and the
// real `ctlab run --runtime netns` of the canonical scenario's flag-off variant inside the guest.
// Needs root, qemu-system-x86_64, debootstrap, kmod and the Debian mirror on the first run
// (everything is cached under ~/.cache/ctlab/vm afterwards). Without qemu the file skips with
// the reason, except in CI (CI=true), where a missing qemu is a failure.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { CtlabError } from '../../src/errors.js';
import { readSmoke, resolveKernel, runScenarioInVm, type KernelImage } from '../../src/vm/index.js';
import { allOf, describeWith, requireRoot, requireTool } from '../gate.js';

const prerequisites = allOf(
  requireTool('qemu-system-x86_64: apt-get install --no-install-recommends qemu-system-x86'),
  requireRoot(),
);

const progress = (m: string) => {
  if (process.env.CTLAB_TEST_VERBOSE) console.log(m);
};

// Output folders of passed tests are removed; a failed test's folder stays for its console log.
const dirs: string[] = [];
const outFolder = async (tag: string) => {
  const d = await mkdtemp(join(tmpdir(), `ctlab-vm-${tag}-`));
  dirs.push(d);
  return d;
};

describeWith(prerequisites, 'VM runner (Debian 6.1)', () => {
  let kernel: KernelImage;
  afterEach(async (ctx) => {
    const d = dirs.pop();
    if (d && ctx.task.result?.state === 'pass') await rm(d, { recursive: true, force: true });
  });
  beforeAll(async () => {
    kernel = await resolveKernel('6.1', progress);
  }, 600_000);

  it(
    "boots the resolved kernel and the lab's building blocks work in the guest",
    async () => {
      const outDir = await outFolder('smoke');
      const r = await runScenarioInVm({
        kernel,
        scenarioFile: '',
        args: [],
        outDir,
        progress,
        job: 'smoke',
        timeoutMs: 10 * 60_000,
      });
      expect(r.release).toBe(kernel.release);
      expect(kernel.release).toMatch(/^6\.1\.\d+-\d+-cloud-amd64$/);
      const smoke = await readSmoke(outDir);
      expect(smoke.release).toBe(kernel.release); // uname -r inside the guest
      expect(smoke.errors).toEqual([]);
      expect(smoke.checks.httpThroughNfqueue).toBe('smoke-ok'); // only possible with user-space verdicts
      expect(smoke.checks.nfqueuePackets).toBeGreaterThan(0);
      expect(smoke.checks.conntrackFlow).toBeGreaterThanOrEqual(1);
      expect(smoke.checks.unshare).toBe(true);
      expect(smoke.checks.nsenter).toBe(true);
      expect(r.exitCode).toBe(0);
      expect(r.missingModules).toEqual([]);
      expect(r.bootMs).toBeGreaterThan(0);
      expect(r.jobMs).toBeGreaterThan(0);
      expect(r.totalMs).toBeGreaterThanOrEqual(r.bootMs + r.jobMs);
      const log = await readFile(r.consoleLog, 'utf8');
      expect(log).toMatch(/\[\+\s*\d+\.\ds\] CTLAB-VM INIT uptime=\S+ release=6\.1/);
      expect(await readFile(join(outDir, 'vm', 'dmesg.txt'), 'utf8')).toContain('Linux version 6.1');
    },
    15 * 60_000,
  );

  it(
    'runs the scenario with the namespace runtime inside the guest and returns its run folder',
    async () => {
      const outDir = await outFolder('run');
      const scenario = resolve('scenarios/harvester-asa.yaml');
      const r = await runScenarioInVm({
        kernel,
        scenarioFile: scenario,
        args: ['--variant', 'flag-off'],
        outDir,
        progress,
        timeoutMs: 30 * 60_000,
      });
      const result = JSON.parse(await readFile(join(outDir, 'result.json'), 'utf8')) as {
        kernel: string;
        variants: { name: string; server: { invalidDrops: number }; attempts: { timedOut: number } }[];
        reports?: { html: string };
      };
      expect(result.kernel).toBe(kernel.release);
      expect(result.variants.map((v) => v.name)).toEqual(['flag-off']);
      // the failure class reproduced on 6.1: conntrack INVALID drops, client timeouts
      expect(result.variants[0]!.server.invalidDrops).toBeGreaterThan(0);
      expect(result.variants[0]!.attempts.timedOut).toBeGreaterThan(0);
      expect(r.exitCode).toBe(0);
      // ctlab run always writes its reports before result.json (run/run.ts finishRun).
      expect(result.reports?.html).toBe('report.html');
      expect(existsSync(join(outDir, result.reports!.html))).toBe(true);
      expect(existsSync(join(outDir, 'vm', 'job.log'))).toBe(true);
    },
    35 * 60_000,
  );

  it("a guest that does not finish in time is a LAB error carrying the console's last lines", async () => {
    const outDir = await outFolder('timeout');
    let err: unknown;
    try {
      await runScenarioInVm({ kernel, scenarioFile: '', args: [], outDir, progress, job: 'smoke', timeoutMs: 3_000 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CtlabError);
    const e = err as CtlabError;
    expect(e.code).toBe('LAB');
    expect(e.timedOut).toBe(true);
    expect(e.message).toMatch(/did not finish within 3 s/);
    expect(e.hint).toContain(join(outDir, 'vm', 'console.log'));
    expect(existsSync(join(outDir, 'vm', 'console.log'))).toBe(true);
  }, 120_000);
});
