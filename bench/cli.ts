// How fast the CLI answers when it must not start anything: a bad scenario file (exit 2, checked
// before Docker is touched) and an unreachable Docker engine (exit 3, one ping, no retry loop).
// Spawns the compiled CLI as a user does; median, minimum and maximum of N runs each.
// Run: npm run bench:cli [-- <runs>]
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { repoRoot } from '../src/util/repo-root.js';

const run = promisify(execFile);
const BIN = join(repoRoot(), 'bin', 'ctlab.js');
const CANONICAL = join(repoRoot(), 'scenarios', 'harvester-asa.yaml');
const NO_DOCKER = {
  ...process.env,
  DOCKER_HOST: 'unix:///nonexistent/ctlab-bench.sock',
  CTLAB_DEBUG: '',
  FORCE_COLOR: '0',
};
const runs = Number(process.argv[2] ?? 7);

async function time(label: string, args: string[], wantExit: number): Promise<void> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const cwd = mkdtempSync(join(tmpdir(), 'ctlab-bench-cli-'));
    const t0 = performance.now();
    const code = await run('node', [BIN, ...args], { cwd, env: NO_DOCKER }).then(
      () => 0,
      (err: { code?: number }) => err.code ?? -1,
    );
    ms.push(performance.now() - t0);
    rmSync(cwd, { recursive: true, force: true });
    if (code !== wantExit) throw new Error(`${label}: exit ${code}, expected ${wantExit}`);
  }
  ms.sort((a, b) => a - b);
  const f = (x: number) => `${Math.round(x)} ms`;
  console.log(
    `${label}: median ${f(ms[Math.floor(ms.length / 2)]!)} over ${runs} runs (${f(ms[0]!)}-${f(ms.at(-1)!)})`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'ctlab-bench-cli-'));
const bad = join(dir, 'bad.yaml');
writeFileSync(bad, 'name: bad\nloss: { rate: 0.015, direction: to-client\n');
await time('ctlab --version (node start-up and CLI load)', ['--version'], 0);
await time('ctlab run <bad scenario> (exit 2)', ['run', bad], 2);
await time('ctlab run <scenario>, Docker unreachable (exit 3)', ['run', CANONICAL], 3);
rmSync(dir, { recursive: true, force: true });
console.log(`(${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)} at the end)`);
