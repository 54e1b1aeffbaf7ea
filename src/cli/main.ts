// ctlab's command line. Exit codes: 0 all expectations met; 1 an expectation failed or the run
// was inconclusive; 2 bad input (nothing was started); 3 the lab or Docker failed.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { join, resolve } from 'node:path';
import { CtlabError } from '../errors.js';
import { checkImages, checkVariants, loadScenarioInput, runHere } from '../api/run.js';
import { runMatrix } from '../matrix/run.js';
import { cellList, failureLines, gridTable } from '../matrix/render.js';
import {
  readMatrixResult,
  runMatrixOnKernels,
  type KernelMatrixResult,
  type MatrixKernelRunner,
} from '../matrix/kernels.js';
import { expandMatrix, selectControl } from '../matrix/cells.js';
import { mergeShards, readShard } from '../matrix/merge.js';
import { parseShard, shardBanner, shardInfo, type ShardInfo } from '../matrix/shard.js';
import { variantLabel } from '../report/kernels.js';
import type { RunResult } from '../result/types.js';
import { variantTable } from '../report/verdict.js';
import { parseKernelList, readRunResult, runOnKernels, type KernelHow, type KernelRunner } from '../run/kernels.js';
import type { Scenario } from '../scenario/model.js';
import { newRunId } from '../runtime/labels.js';
import { loadScenarioOnKernel } from '../scenario/kernel-sysctls.js';
import { imagesRuntimeProblem } from '../scenario/images.js';
import { checkScenarioRules, loadScenario, scenarioInputFiles } from '../scenario/load.js';
import { buildImages, clean, doctor, isRuntimeKind, prepareRuntime, RUNTIME_KINDS, type RuntimeKind } from './lab.js';
import { actualText } from '../report/workload.js';

export const EXIT = { OK: 0, EXPECTATION: 1, USAGE: 2, LAB: 3 } as const;

const debug = () => process.env.CTLAB_DEBUG === '1' || process.argv.includes('--debug');

function seedArg(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 0xffffffff) throw new InvalidArgumentError('a whole number from 0 to 4294967295');
  return Number(v);
}

function runtimeArg(v: string): RuntimeKind {
  if (!isRuntimeKind(v)) throw new InvalidArgumentError(`one of ${RUNTIME_KINDS.join(', ')}`);
  return v;
}

const RUNTIME_HELP =
  'lab runtime: docker (containers) or netns (plain network namespaces on this host, as root, no Docker)';

function stamp(): string {
  return new Date().toISOString().slice(11, 19);
}

function kernelArg(v: string): string[] {
  try {
    return parseKernelList(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message.replace(/^--kernel:?\s*/, ''));
  }
}

/** What the kernel runners need besides their own options: the scenario file, the runtime, the log. */
interface KernelRunnerBase {
  file: string;
  runtime: RuntimeKind;
  verbose?: boolean;
  runId: string;
  log: (m: string) => void;
}

/**
 * The options of the `host` kernel's run or matrix: its folder, the command's seed and
 * parallelism, and the runtime the command chose, prepared here.
 */
async function onHost(o: KernelRunnerBase & { seed?: number; parallel: number }, dir: string) {
  return {
    outDir: dir,
    seed: o.seed,
    parallel: o.parallel,
    runId: o.runId,
    createRuntime: await prepareRuntime({ kind: o.runtime, runId: o.runId, verbose: o.verbose, progress: o.log }),
    progress: o.log,
  };
}

/**
 * A ctlab job (`ctlab run` or `ctlab matrix` with `args`) on the scenario in a VM booted with
 * kernel `spec`: the guest runs the lab as namespaces and its folder comes back into `dir`.
 */
async function inVm(o: KernelRunnerBase, spec: string, dir: string, args: string[], job: 'run' | 'matrix') {
  const { resolveKernel, runScenarioInVm } = await import('../vm/index.js');
  const kernel = await resolveKernel(spec, o.log);
  const vm = await runScenarioInVm({
    kernel,
    scenarioFile: o.file,
    files: scenarioInputFiles(loadScenario(o.file)),
    args,
    outDir: dir,
    job,
    progress: (m) => o.log(`[${spec}] ${m}`),
  });
  const how: KernelHow = {
    release: vm.release,
    runtime: 'netns',
    vm: { accel: vm.accel, bootMs: vm.bootMs, jobMs: vm.jobMs },
  };
  return { vm, how };
}

/**
 * How `run --kernel` runs the scenario on one kernel: `host` here, with the chosen runtime; any
 * other kernel in a VM (src/vm), where the lab runs as namespaces and the guest's run folder
 * comes back into `dir`.
 */
function kernelRunner(
  o: KernelRunnerBase & { scenario: Scenario; seed?: number; variants?: string[]; parallel: number },
): KernelRunner {
  return async (spec, dir) => {
    if (spec === 'host') {
      const result = await runHere(o.scenario, {
        outDir: dir,
        runtime: o.runtime,
        verbose: o.verbose,
        seed: o.seed,
        variants: o.variants,
        parallel: o.parallel,
        runId: o.runId,
        progress: o.log,
      });
      return { result, release: result.variants[0]?.kernel || result.kernel, runtime: o.runtime, vm: null };
    }
    // One variant at a time in the guest: its two CPUs are emulated, and variants side by side
    // would slow each other down unevenly.
    const args = [
      ...(o.seed !== undefined ? ['--seed', String(o.seed)] : []),
      ...(o.variants ? ['--variant', ...o.variants] : []),
      '--parallel',
      '1',
    ];
    const { vm, how } = await inVm(o, spec, dir, args, 'run');
    // Exit 2 in the guest: its `ctlab run` rejected the scenario on that kernel (e.g. a sysctl it
    // does not have); its one line says why.
    if (vm.exitCode === EXIT.USAGE) {
      const log = await readFile(join(dir, 'vm', 'job.log'), 'utf8').catch(() => '');
      const line = log
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('ctlab: '));
      // The guest reads the scenario as /job/scenario.yaml (src/vm/guest.ts): name the user's file.
      const why = line?.slice(7).replace('/job/scenario.yaml', o.file) ?? 'exit 2';
      throw new CtlabError('SCENARIO', `rejected in the ${vm.release} guest: ${why}`);
    }
    return { result: await readRunResult(dir), ...how };
  };
}

/** How `matrix --kernel` runs the whole matrix on one kernel: `host` here, any other in a VM. */
function matrixKernelRunner(
  o: KernelRunnerBase & { scenario: Scenario; seed?: number; parallel: number; only?: (spec: string) => string[] },
): MatrixKernelRunner {
  return async (spec, dir) => {
    const only = o.only?.(spec);
    if (spec === 'host') {
      const matrix = await runMatrix(o.scenario, { ...(await onHost(o, dir)), only });
      return { matrix, release: matrix.kernel, runtime: o.runtime, vm: null };
    }
    // One cell at a time in the guest (two emulated CPUs).
    const args = [
      ...(o.seed !== undefined ? ['--seed', String(o.seed)] : []),
      '--parallel',
      '1',
      ...(only ? ['--cells', only.join(',')] : []),
    ];
    const { how } = await inVm(o, spec, dir, args, 'matrix');
    return { matrix: await readMatrixResult(dir), ...how };
  };
}

/** A --kernel shard that owns no cell (more shards than cells) still leaves a mergeable folder. */
async function writeEmptyKernelShard(out: string, s: Scenario, runId: string, shard: ShardInfo): Promise<void> {
  const r: KernelMatrixResult = {
    schemaVersion: 1,
    kind: 'ctlab-matrix-kernels',
    scenario: s.name,
    scenarioFile: s.file,
    runId,
    startedAt: new Date().toISOString(),
    durationMs: 0,
    kernels: [],
    differences: [],
    verdict: 'This shard owns no cell.',
    passed: true,
    shard,
  };
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'matrix.json'), `${JSON.stringify(r, null, 2)}\n`);
}

export function program(): Command {
  const p = new Command('ctlab')
    .description('Reproduce TCP failures caused by middlebox rewrites and conntrack INVALID drops, flag off and on')
    .option('--debug', 'show stack traces')
    .showHelpAfterError('(add --help for usage)')
    .version(JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version)
    .exitOverride();

  p.command('run')
    .description('run a scenario: each variant on a fresh lab; print the table and verdict; write result.json')
    .argument('<scenario>', 'scenario file (YAML), e.g. scenarios/harvester-asa.yaml')
    .option('--out <dir>', 'run folder (default: runs/<scenario>-<run id>)')
    .option('--seed <n>', "seed (overrides the scenario's)", seedArg)
    .option('--variant <name...>', 'run only these variants')
    .option('--parallel <n>', 'variants run at the same time, each on its own lab (1 = one after another)', seedArg, 2)
    .option('--json', 'print result.json to stdout instead of the table')
    .option('--runtime <kind>', RUNTIME_HELP, runtimeArg, 'docker' as RuntimeKind)
    .option(
      '--kernel <list>',
      'run on each of these kernels, side by side: Debian series (5.10, 6.1, 6.12) and path:<bzImage>[,<modules dir>] boot in a VM; host runs here with --runtime',
      kernelArg,
    )
    .option('-v, --verbose', 'show image build output')
    .action(
      async (
        file: string,
        o: {
          out?: string;
          seed?: number;
          variant?: string[];
          parallel: number;
          json?: boolean;
          verbose?: boolean;
          runtime: RuntimeKind;
          kernel?: string[];
        },
      ) => {
        const t0 = Date.now();
        // The sysctls are checked on this kernel when the lab runs here; a VM's guest checks its own.
        const say = {
          warn: (m: string) => process.stderr.write(`ctlab: warning: ${m}\n`),
          note: (m: string) => process.stderr.write(`note: ${m}\n`),
        };
        let s: Scenario;
        if (!o.kernel || o.kernel.includes('host')) s = await loadScenarioInput(file, say);
        else {
          s = loadScenario(file);
          for (const w of await checkScenarioRules(s)) say.note(w);
        }
        checkImages(s, { runtime: o.runtime, kernels: o.kernel });
        checkVariants(s, o.variant);
        const runId = newRunId();
        const out = resolve(o.out ?? join('runs', `${s.name}-${runId}`));
        const log = (m: string) => process.stderr.write(`[${stamp()}] ${m}\n`);
        log(`scenario ${s.name} (seed ${o.seed ?? s.seed}), run ${runId}`);
        let r: RunResult;
        if (o.kernel) {
          r = await runOnKernels({
            outDir: out,
            kernels: o.kernel,
            runId,
            progress: log,
            runner: kernelRunner({
              file,
              scenario: s,
              runtime: o.runtime,
              verbose: o.verbose,
              seed: o.seed,
              variants: o.variant,
              parallel: o.parallel,
              runId,
              log,
            }),
          });
        } else {
          r = await runHere(s, {
            outDir: out,
            runtime: o.runtime,
            verbose: o.verbose,
            seed: o.seed,
            variants: o.variant,
            parallel: o.parallel,
            runId,
            progress: log,
          });
        }
        if (o.json) {
          process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        } else {
          process.stdout.write(`\n${variantTable(r)}\n\n`);
          for (const v of r.variants) {
            for (const e of v.expectations)
              process.stdout.write(
                `  ${e.passed ? 'ok  ' : 'FAIL'} ${variantLabel(r, v)}: ${e.text} (measured ${actualText(e.actual)})\n`,
              );
          }
          for (const pr of r.problems) process.stdout.write(`  PROBLEM ${pr}\n`);
          for (const k of r.kernelRuns ?? []) {
            const how = k.vm
              ? `VM under ${k.vm.accel === 'kvm' ? 'KVM' : 'software emulation (TCG)'}, boot ${(k.vm.bootMs / 1000).toFixed(1)} s, job ${(k.vm.jobMs / 1000).toFixed(1)} s`
              : `natively, ${k.runtime} runtime`;
            process.stdout.write(
              `  kernel ${k.spec.padEnd(6)} ${k.release}: ${k.error ? `FAILED: ${k.error}` : `${how}, ${(k.totalMs / 1000).toFixed(1)} s in all`}\n`,
            );
          }
          if (r.kernelRuns?.some((k) => k.vm?.accel === 'tcg'))
            process.stdout.write('  (timings under emulation compare only with each other, never with native ones)\n');
          process.stdout.write(`\nVerdict: ${r.verdict}\n`);
          process.stdout.write(`Result: ${join(out, 'result.json')}\n`);
          if (r.reports)
            process.stdout.write(
              `Report: ${join(out, r.reports.html)} (also ${r.reports.markdown}, ${r.reports.junit})\n`,
            );
          process.stdout.write(`Time from command to verdict: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
        }
        process.exitCode = r.passed ? EXIT.OK : EXIT.EXPECTATION;
      },
    );

  p.command('matrix')
    .description(
      "run every cell of a scenario's matrix (firewall x server configuration); print the grid and verdict; write matrix.json",
    )
    .argument('<scenario>', 'scenario file with a matrix section, e.g. scenarios/harvester-asa-matrix.yaml')
    .option('--out <dir>', "matrix folder (default: runs/<scenario>-<run id>); each cell's run folder goes inside")
    .option('--seed <n>', "seed for every cell (overrides the scenario's)", seedArg)
    .option('--parallel <n>', 'cells run at the same time, each on its own lab', seedArg, 2)
    .option('--json', 'print matrix.json to stdout instead of the grid')
    .option('--runtime <kind>', RUNTIME_HELP, runtimeArg, 'docker' as RuntimeKind)
    .option(
      '--kernel <list>',
      'run the whole matrix on each of these kernels (as for `run --kernel`) and compare the grids',
      kernelArg,
    )
    .option(
      '--shard <i/n>',
      "run only shard i of n: every n-th (kernel, cell) pair in grid order, plus the control cell as this shard's throughput baseline; merge the shards' folders with `ctlab merge`",
    )
    .addOption(
      new Option(
        '--cells <names>',
        'run only these cells, comma-separated (how a sharded --kernel run hands its share to a VM)',
      ).hideHelp(),
    )
    .option('-v, --verbose', 'show image build output')
    .action(
      async (
        file: string,
        o: {
          out?: string;
          seed?: number;
          parallel: number;
          json?: boolean;
          verbose?: boolean;
          runtime: RuntimeKind;
          kernel?: string[];
          shard?: string;
          cells?: string;
        },
      ) => {
        const t0 = Date.now();
        const spec = o.shard !== undefined ? parseShard(o.shard) : undefined;
        const s =
          !o.kernel || o.kernel.includes('host')
            ? (await loadScenarioOnKernel(file, (m) => process.stderr.write(`ctlab: warning: ${m}\n`))).scenario
            : loadScenario(file);
        const noImages = imagesRuntimeProblem(s, { runtime: o.runtime, kernels: o.kernel });
        if (noImages) throw new CtlabError('SCENARIO', `${file}: ${noImages}`);
        for (const w of await checkScenarioRules(s)) process.stderr.write(`note: ${w}\n`);
        if (!s.matrix)
          throw new CtlabError('SCENARIO', `${file} has no matrix section`, {
            hint: 'add `matrix: { axes: { firewall: [...], server: {...} } }` (see scenarios/harvester-asa-matrix.yaml), or use `ctlab run`',
          });
        const runId = newRunId();
        const out = resolve(o.out ?? join('runs', `${s.name}-${runId}`));
        const log = (m: string) => process.stderr.write(`[${stamp()}] ${m}\n`);
        const grid = expandMatrix(s);
        const shard = spec
          ? shardInfo({ spec, scenario: s, cells: grid, kernels: o.kernel, seed: o.seed ?? s.seed })
          : undefined;
        let only = o.cells !== undefined ? o.cells.split(',').filter(Boolean) : undefined;
        const unknownCells = (only ?? []).filter((n) => !grid.some((c) => c.name === n));
        if (unknownCells.length)
          throw new CtlabError('SCENARIO', `--cells: no cell ${unknownCells.join(', ')} in the matrix of ${file}`);
        if (shard && !o.kernel) only = shard.cells;
        log(`scenario ${s.name} (seed ${o.seed ?? s.seed}), matrix run ${runId}`);
        if (shard) log(shardBanner(shard, selectControl(s, grid)?.name));
        if (o.kernel) {
          // A shard runs only the kernels it owns a cell on, and on each only those cells.
          const ownedOn = (k: string) =>
            (shard?.cells ?? []).filter((u) => u.startsWith(`${k}:`)).map((u) => u.slice(k.length + 1));
          const kernels = shard ? o.kernel.filter((k) => ownedOn(k).length > 0) : o.kernel;
          if (shard)
            for (const k of kernels) log(`shard ${shard.index}/${shard.count}: kernel ${k}: ${ownedOn(k).join(', ')}`);
          if (kernels.length === 0) {
            if (!shard) throw new CtlabError('SCENARIO', '--kernel: no kernel given');
            await writeEmptyKernelShard(out, s, runId, shard);
            process.stdout.write(
              `Shard ${shard.index}/${shard.count} owns no cell (more shards than cells); wrote ${join(out, 'matrix.json')}\n`,
            );
            return;
          }
          const k = await runMatrixOnKernels({
            outDir: out,
            kernels,
            runId,
            progress: log,
            shard,
            runner: matrixKernelRunner({
              file,
              scenario: s,
              runtime: o.runtime,
              verbose: o.verbose,
              seed: o.seed,
              parallel: Math.max(1, o.parallel),
              runId,
              log,
              ...(shard ? { only: ownedOn } : {}),
            }),
          });
          if (o.json) process.stdout.write(`${JSON.stringify(k, null, 2)}\n`);
          else {
            for (const run of k.kernels) {
              const m = run.matrix ? await readMatrixResult(join(out, run.dir)).catch(() => undefined) : undefined;
              const how = run.vm
                ? `VM under ${run.vm.accel === 'kvm' ? 'KVM' : 'software emulation (TCG)'}, boot ${(run.vm.bootMs / 1000).toFixed(1)} s`
                : `natively, ${run.runtime} runtime`;
              process.stdout.write(
                `\n== kernel ${run.spec}: ${run.release} (${how}, ${(run.totalMs / 1000).toFixed(1)} s)\n`,
              );
              process.stdout.write(m ? `${gridTable(m)}\n` : `FAILED: ${run.error}\n`);
            }
            for (const d of k.differences)
              process.stdout.write(
                `  differs: ${d.cell}: ${d.perKernel.map((p) => `${p.outcome} on ${p.release}`).join(', ')}\n`,
              );
            if (k.kernels.some((x) => x.vm?.accel === 'tcg'))
              process.stdout.write('  (timings and throughput under emulation compare only with each other)\n');
            process.stdout.write(
              `\nVerdict: ${k.verdict}\nResult: ${join(out, 'matrix.json')}\nReport: ${join(out, 'matrix.html')} (each kernel's matrix in ${out}/kernel-*/)\n`,
            );
            process.stdout.write(`Time from command to verdict: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
          }
          process.exitCode = k.kernels.some((x) => x.error) ? EXIT.LAB : k.passed ? EXIT.OK : EXIT.EXPECTATION;
          return;
        }
        const createRuntime = await prepareRuntime({ kind: o.runtime, runId, verbose: o.verbose, progress: log });
        const m = await runMatrix(s, {
          outDir: out,
          seed: o.seed,
          parallel: Math.max(1, o.parallel),
          runId,
          createRuntime,
          progress: log,
          only,
          shard,
        });
        if (o.json) {
          process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
        } else {
          process.stdout.write(`\n${gridTable(m)}\n\n${cellList(m)}\n\n`);
          for (const l of failureLines(m)) process.stdout.write(`  ${l}\n`);
          process.stdout.write(`\nVerdict: ${m.verdict}\n`);
          process.stdout.write(
            `Result: ${join(out, 'matrix.json')}\nReport: ${join(out, 'matrix.html')} (also summary.md; each cell's run folder and report in ${out}/<cell>/)\n`,
          );
          process.stdout.write(`Time from command to verdict: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
        }
        const ranAll = m.cells.every((c) => c.outcome !== 'error');
        process.exitCode = !ranAll ? EXIT.LAB : m.passed ? EXIT.OK : EXIT.EXPECTATION;
      },
    );

  p.command('merge')
    .description(
      "merge the folders of `ctlab matrix --shard i/n` (every shard once) into one matrix folder: matrix.json, matrix.html, summary.md and every cell's run folder",
    )
    .argument('<dir...>', 'shard folders (the --out of each `ctlab matrix --shard i/n`)')
    .option('--out <dir>', 'merged matrix folder (default: runs/<scenario>-merged-<run id>)')
    .option('--json', 'print the merged matrix.json to stdout instead of the grid')
    .action(async (dirs: string[], o: { out?: string; json?: boolean }) => {
      const t0 = Date.now();
      const runId = newRunId();
      const log = (m: string) => process.stderr.write(`[${stamp()}] ${m}\n`);
      // The default folder needs the scenario's name: read the first shard (merge re-reads and checks all).
      // dirs[0] exists: commander requires at least one <dir...>.
      const out = resolve(o.out ?? join('runs', `${(await readShard(dirs[0]!)).json.scenario}-merged-${runId}`));
      const r = await mergeShards({ dirs, outDir: out, runId, progress: log });
      if (o.json) process.stdout.write(`${JSON.stringify(r.result, null, 2)}\n`);
      else if (r.kind === 'matrix') {
        process.stdout.write(`\n${gridTable(r.result)}\n\n${cellList(r.result)}\n\n`);
        for (const l of failureLines(r.result)) process.stdout.write(`  ${l}\n`);
        for (const n of r.result.merged!.shards)
          process.stdout.write(
            `  shard ${n.index}/${n.count}: ${n.cells.join(', ') || 'no cell'}; ratios against its control run (${n.control.map((c) => (c.throughputBytesPerSec === null ? `${c.cell}: did not complete` : `${c.cell}: ${(c.throughputBytesPerSec / 1e6).toFixed(2)} MB/s`)).join('; ') || 'none'})\n`,
          );
      } else {
        for (const k of r.result.kernels) {
          const m = k.matrix ? await readMatrixResult(join(out, k.dir)).catch(() => undefined) : undefined;
          process.stdout.write(
            `\n== kernel ${k.spec}: ${k.release}\n${m ? `${gridTable(m)}\n` : `FAILED: ${k.error}\n`}`,
          );
        }
        for (const d of r.result.differences)
          process.stdout.write(
            `  differs: ${d.cell}: ${d.perKernel.map((p) => `${p.outcome} on ${p.release}`).join(', ')}\n`,
          );
      }
      if (!o.json) {
        process.stdout.write(
          `\nVerdict: ${r.result.verdict}\nResult: ${join(out, 'matrix.json')}\nReport: ${join(out, 'matrix.html')} (also summary.md)\n`,
        );
        process.stdout.write(`Merged in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      }
      const ranAll =
        r.kind === 'matrix'
          ? r.result.cells.every((c) => c.outcome !== 'error')
          : r.result.kernels.every((k) => !k.error) &&
            r.result.kernels.every((k) => k.cells.every((c) => c.outcome !== 'error'));
      process.exitCode = !ranAll ? EXIT.LAB : r.result.passed ? EXIT.OK : EXIT.EXPECTATION;
    });

  p.command('replay')
    .description(
      "play the TCP packets of a capture through a real kernel's conntrack (be_liberal 0 and 1): which packets would INVALID drop, and why; or --anonymize IN OUT",
    )
    .argument('<capture>', 'pcap or pcapng file (Ethernet, raw IP, Linux cooked SLL/SLL2)')
    .argument('[out]', 'with --anonymize: the anonymized capture to write')
    .option('--out <dir>', 'replay folder (default: runs/replay-<capture>-<run id>)')
    .option(
      '--kernel <list>',
      'replay on each of these kernels: host (here) and Debian series (5.10, 6.1, 6.12) or path:<bzImage> in a VM',
      kernelArg,
      ['host'],
    )
    .option(
      '--sysctl <name=value...>',
      'conntrack setting applied on top of each setting (a be_liberal value replaces the default be_liberal 0 and 1 pair)',
    )
    .option(
      '--flow <filter>',
      'replay only flows with an end matching ip, ip:port, :port or "port N" (captured addresses)',
    )
    .option(
      '--expect <line...>',
      'expectation over every run, e.g. "invalid == 0" or "invalid[be_liberal=1] == 0"; exit 1 if one fails',
    )
    .option('--pace', "keep the capture's timing (default: as fast as possible)")
    .option(
      '--anonymize',
      'write an anonymized copy of <capture> to <out> (addresses and ports mapped, payloads dropped) and stop',
    )
    .option('--json', 'print replay.json to stdout instead of the table')
    .action(
      async (
        capture: string,
        outFile: string | undefined,
        o: {
          out?: string;
          kernel: string[];
          sysctl?: string[];
          flow?: string;
          expect?: string[];
          pace?: boolean;
          anonymize?: boolean;
          json?: boolean;
        },
      ) => {
        const t0 = Date.now();
        if (o.anonymize) {
          if (!outFile)
            throw new CtlabError(
              'SCENARIO',
              '--anonymize needs an output file: ctlab replay --anonymize IN.pcap OUT.pcap',
            );
          const { anonymizeFile } = await import('../replay/anonymize.js');
          const a = await anonymizeFile(capture, outFile);
          process.stdout.write(`${a.summary}\nWrote ${outFile}\n`);
          return;
        }
        if (outFile)
          throw new CtlabError('SCENARIO', `unexpected argument ${JSON.stringify(outFile)}`, {
            hint: 'give one capture; an output file only with --anonymize',
          });
        const { parseSysctlArgs, runReplay } = await import('../replay/run.js');
        const sysctls = parseSysctlArgs(o.sysctl ?? []);
        const { runTable } = await import('../replay/output.js');
        const runId = newRunId();
        const base = capture
          .split('/')
          .pop()!
          .replace(/\.[^.]*$/, '')
          .replace(/[^\w.-]+/g, '_');
        const out = resolve(o.out ?? join('runs', `replay-${base}-${runId}`));
        const log = (m: string) => process.stderr.write(`[${stamp()}] ${m}\n`);
        const r = await runReplay({
          capture,
          outDir: out,
          kernels: o.kernel,
          sysctls,
          flow: o.flow,
          expect: o.expect ?? [],
          pace: !!o.pace,
          runId,
          log,
          version: JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version,
          vmRunner: async (spec, dir) => {
            const { replayInVm } = await import('../replay/vm.js');
            return replayInVm({ spec, capture, dir, sysctls, flow: o.flow, pace: !!o.pace, log });
          },
        });
        if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        else {
          process.stdout.write(`\n${runTable(r)}\n\n`);
          for (const e of r.expectations)
            process.stdout.write(
              `  ${e.passed ? 'ok  ' : 'FAIL'} ${e.text} (measured ${
                Object.entries(e.actual)
                  .map(([k, v]) => `${k}: ${v}`)
                  .join(', ') || 'no run it applies to'
              })\n`,
            );
          for (const pr of r.problems) process.stdout.write(`  PROBLEM ${pr}\n`);
          process.stdout.write(
            `\nVerdict: ${r.verdict}\nResult: ${join(out, 'replay.json')}\nReport: ${join(out, 'report.html')} (also summary.md, junit.xml)\n`,
          );
          process.stdout.write(`Time from command to verdict: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
        }
        process.exitCode = r.runs.some((x) => x.error) ? EXIT.LAB : r.passed ? EXIT.OK : EXIT.EXPECTATION;
      },
    );

  p.command('validate')
    .description("check scenario files (sysctls against this machine's kernel, as root); print the model of each")
    .argument('<scenario...>')
    .option('--json', 'print the validated model')
    .action(async (files: string[], o: { json?: boolean }) => {
      for (const f of files) {
        const { scenario: s, kernel } = await loadScenarioOnKernel(f, (m) =>
          process.stderr.write(`ctlab: warning: ${f}: ${m}\n`),
        );
        for (const w of await checkScenarioRules(s)) process.stderr.write(`note: ${w}\n`);
        const matrix = s.matrix
          ? `; matrix ${s.matrix.firewalls.length} firewalls x ${s.matrix.servers.length} server configurations`
          : '';
        process.stdout.write(
          o.json
            ? `${JSON.stringify(s, null, 2)}\n`
            : `${f}: ok (${s.variants.length} variants${s.variants.length ? `: ${s.variants.map((v) => v.name).join(', ')}` : ''}${matrix}${kernel ? `; sysctls checked on kernel ${kernel}` : ''})\n`,
        );
      }
    });

  p.command('images')
    .description('build the lab images (cached: an unchanged lab does not rebuild)')
    .option('--force', 'rebuild even if cached')
    .option('-v, --verbose', 'show build output')
    .action(async (o: { force?: boolean; verbose?: boolean }) => {
      const log = (m: string) => process.stderr.write(`[${stamp()}] ${m}\n`);
      const images = await buildImages({ runId: newRunId(), verbose: o.verbose, force: o.force, progress: log });
      for (const [role, tag] of Object.entries(images)) process.stdout.write(`${role.padEnd(10)} ${tag}\n`);
    });

  p.command('clean')
    .description(
      'remove every container and network labelled ctlab.run, namespace labs and replay namespaces (all runs, or one)',
    )
    .option('--run <id>', 'only this run')
    .option('--images', 'also remove the lab images')
    .option(
      '--vm-cache',
      'also remove the VM cache (downloaded kernels, the VM guest; rebuilt on the next --kernel run)',
    )
    .action(async (o: { run?: string; images?: boolean; vmCache?: boolean }) => {
      if (o.vmCache) {
        const { cacheRoot } = await import('../vm/cache.js');
        const dir = cacheRoot();
        const du = await execa('du', ['-sb', dir], { reject: false });
        await rm(dir, { recursive: true, force: true });
        const bytes = Number(du.stdout.split(/\s/)[0] ?? 0);
        process.stdout.write(
          du.exitCode === 0
            ? `removed the VM cache ${dir} (${(bytes / 1e6).toFixed(0)} MB)\n`
            : `no VM cache at ${dir}\n`,
        );
      }
      const removed = await clean({ runId: o.run, images: o.images });
      process.stdout.write(`${removed}\n`);
    });

  p.command('doctor')
    .description('check Docker, the kernel features the lab needs, the images and host settings')
    .action(async () => {
      const ok = await doctor((line) => process.stdout.write(`${line}\n`));
      process.exitCode = ok ? EXIT.OK : EXIT.LAB;
    });

  return p;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? 0 : EXIT.USAGE;
      return;
    }
    if (e instanceof CtlabError) {
      process.stderr.write(`${e.format()}\n`);
      if (debug() && e.stack) process.stderr.write(`${e.stack}\n`);
      process.exitCode = e.code === 'SCENARIO' ? EXIT.USAGE : e.code === 'EXPECTATION' ? EXIT.EXPECTATION : EXIT.LAB;
      return;
    }
    process.stderr.write(`ctlab: unexpected error: ${(e as Error)?.message ?? String(e)}\n`);
    if (debug()) process.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
    else process.stderr.write('  (run with --debug for the stack trace)\n');
    process.exitCode = EXIT.LAB;
  }
}
