// Spawns the real CLI (`node bin/ctlab.js`, i.e. the compiled dist/) the way a user does, and
// makes scenario files that differ from the canonical one in exactly one place, so that an
// expected line and column can be computed instead of hard-coded.
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = join(REPO, 'bin/ctlab.js');
export const CANONICAL = join(REPO, 'scenarios/harvester-asa.yaml');

/** A Docker socket that cannot exist: any command that touches Docker fails with exit 3. */
export const NO_DOCKER = { DOCKER_HOST: 'unix:///nonexistent/ctlab-test.sock' };

export function assertBuilt(): void {
  if (!existsSync(join(REPO, 'dist/src/cli/main.js'))) {
    throw new Error('dist/ is not built: run `npm run build` first (`npm test` does it)');
  }
}

export interface CliResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  ms: number;
}

export async function ctlab(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  const t0 = Date.now();
  const r = await execa('node', [BIN, ...args], {
    cwd: opts.cwd ?? REPO,
    // CTLAB_DEBUG would add stack traces; a user does not have it set.
    env: { ...opts.env, CTLAB_DEBUG: '', FORCE_COLOR: '0' },
    reject: false,
    timeout: opts.timeoutMs ?? 30_000,
    stdin: 'ignore',
  });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr), ms: Date.now() - t0 };
}

export function tempDir(prefix = 'ctlab-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface Edited {
  file: string;
  /** 1-based line and column of `mark` in the edited text. */
  line: number;
  col: number;
}

/**
 * Writes the canonical scenario with `from` replaced by `to` into dir/name, and returns where
 * `mark` (default: `to`) ends up. Throws if `from` is not in the canonical file exactly once, so a
 * change to the canonical scenario breaks this helper loudly instead of testing nothing.
 */
export function edited(dir: string, name: string, from: string, to: string, mark = to): Edited {
  const text = readFileSync(CANONICAL, 'utf8');
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`"${from}" is not in ${CANONICAL} exactly once`);
  const out = text.slice(0, at) + to + text.slice(at + from.length);
  const file = join(dir, name);
  writeFileSync(file, out);
  const pos = out.indexOf(mark, at);
  if (pos < 0) throw new Error(`mark "${mark}" not found after the edit`);
  const before = out.slice(0, pos).split('\n');
  return { file, line: before.length, col: before[before.length - 1]!.length + 1 };
}

/** Lines a terminal shows, without blank ones. */
export function lines(s: string): string[] {
  return s.split('\n').filter((l) => l.trim() !== '');
}

/** Node/V8 stack frames ("    at fn (file:1:2)"): a user must never see them without --debug. */
export const STACK_FRAME = /^\s+at\s.+[(:]\d+/m;
