// VM runner timings: per kernel, resolve (apt download on a cold cache), prepare (guest root,
// modules, tools, job), boot to init, the smoke job, total.
//   npm run build && node dist/bench/vm.js [--cold] [--job smoke|run] 6.1 5.10 ...
// --cold uses a fresh, empty cache (a temporary CTLAB_CACHE) so the first-run costs show:
// kernel download, debootstrap of the guest root, module trimming, tools packing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { resolveKernel } from '../src/vm/kernel.js';
import { runScenarioInVm } from '../src/vm/run.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const cold = argv.includes('--cold');
  const ji = argv.indexOf('--job');
  const job = ji >= 0 ? (argv[ji + 1] as 'smoke' | 'run') : 'smoke';
  const specs = argv.filter((a, i) => !a.startsWith('--') && !(ji >= 0 && i === ji + 1));
  let coldDir: string | undefined;
  if (cold) {
    coldDir = await mkdtemp(join(tmpdir(), 'ctlab-vm-bench-cache-'));
    process.env.CTLAB_CACHE = coldDir;
  }
  const rows: string[] = [];
  for (const spec of specs.length ? specs : ['6.1']) {
    const t0 = Date.now();
    const log = (m: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m}\n`);
    const k = await resolveKernel(spec, log);
    const resolveMs = Date.now() - t0;
    const out = await mkdtemp(join(tmpdir(), `ctlab-vm-bench-${spec}-`));
    const r = await runScenarioInVm({
      kernel: k,
      scenarioFile: resolve('scenarios/harvester-asa.yaml'),
      args: ['--variant', 'flag-off'],
      outDir: out,
      progress: log,
      job,
    });
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    rows.push(
      `${spec.padEnd(6)} ${k.release.padEnd(28)} ${r.accel}  resolve ${s(resolveMs).padStart(7)}  prepare ${s(r.prepareMs).padStart(7)}  boot ${s(r.bootMs).padStart(6)}  job(${job}) ${s(r.jobMs).padStart(7)}  total ${s(Date.now() - t0).padStart(7)}  exit ${r.exitCode}`,
    );
    await rm(out, { recursive: true, force: true });
  }
  process.stdout.write(`${cold ? 'cold cache' : 'warm cache'}\n${rows.join('\n')}\n`);
  if (coldDir) await rm(coldDir, { recursive: true, force: true });
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
  process.exitCode = 1;
});
