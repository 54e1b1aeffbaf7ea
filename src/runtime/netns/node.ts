// One node of the namespace runtime: running a command in it (nsenter into the holder's
// namespaces, clean environment, process group killed on timeout), and reading and writing its
// files through such commands (never through /proc/<pid>/root, whose absolute symlinks would
// resolve on the host).

import { spawn } from 'node:child_process';
import { constants as osc } from 'node:os';
import { dirname } from 'node:path';
import { CtlabError } from '../../errors.js';
import type { ExecOptions, ExecResult, LabNode, NodeSpec } from '../types.js';
import { ENV_NODE, ENV_RUN, netnsOf } from './procs.js';

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number | null {
  if (code !== null) return code;
  if (signal) return 128 + (osc.signals[signal] ?? 0);
  return null;
}

interface RawResult {
  exitCode: number | null;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
  durationMs: number;
}

export class NetnsNode implements LabNode {
  constructor(
    readonly spec: NodeSpec,
    readonly id: string,
    readonly pid: number,
    /** The node's network namespace ("net:[inode]"): checked before every exec so a reused pid is never entered. */
    readonly netns: string,
    private readonly runId: string,
    private readonly tools: { nsenter: string; path: string },
  ) {}

  private env(): NodeJS.ProcessEnv {
    return {
      PATH: this.tools.path,
      HOME: '/root',
      LANG: 'C.UTF-8',
      ...this.spec.env,
      [ENV_RUN]: this.runId,
      [ENV_NODE]: this.spec.name,
    };
  }

  private argv(cmd: string[]): string[] {
    return ['--target', String(this.pid), '--net', '--mount', '--uts', '--ipc', '--root', '--wd', '--', ...cmd];
  }

  private assertAlive(): void {
    if (netnsOf(this.pid) !== this.netns) {
      throw new CtlabError('LAB', `node ${this.spec.name} of run ${this.runId} is gone (holder ${this.pid} exited)`, {
        hint: 'it was removed or killed; start the lab again',
      });
    }
  }

  /** Run with raw output; the process group is killed on timeout. */
  private run(cmd: string[], opts: { timeoutMs?: number; stdin?: Buffer | string } = {}): Promise<RawResult> {
    this.assertAlive();
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn(this.tools.nsenter, this.argv(cmd), {
        env: this.env(),
        detached: true,
        stdio: [opts.stdin !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      // stdio above pipes stdout and stderr (and stdin when given), so those streams exist.
      child.stdout!.on('data', (c: Buffer) => out.push(c));
      child.stderr!.on('data', (c: Buffer) => err.push(c));
      let timedOut = false;
      let timer: NodeJS.Timeout | undefined;
      let killer: NodeJS.Timeout | undefined;
      let grace: NodeJS.Timeout | undefined;
      const group = (sig: NodeJS.Signals) => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, sig);
        } catch {
          /* gone */
        }
      };
      if (opts.timeoutMs) {
        // Like timeout(1) in the Docker runtime: TERM the whole process group, KILL 2 s later.
        timer = setTimeout(
          () => {
            timedOut = true;
            group('SIGTERM');
            killer = setTimeout(() => group('SIGKILL'), 2000);
          },
          Math.max(1, opts.timeoutMs),
        );
      }
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (done) return;
        done = true;
        for (const t of [timer, killer, grace]) if (t) clearTimeout(t);
        resolve({
          exitCode: timedOut ? 124 : exitCodeOf(code, signal),
          stdout: Buffer.concat(out),
          stderr: Buffer.concat(err),
          timedOut,
          durationMs: Date.now() - t0,
        });
      };
      child.on('error', (e) => {
        if (done) return;
        done = true;
        for (const t of [timer, killer, grace]) if (t) clearTimeout(t);
        reject(
          new CtlabError('HOST', `cannot run nsenter for node ${this.spec.name}: ${e.message}`, {
            cause: e,
            hint: 'apt-get install -y util-linux',
          }),
        );
      });
      child.on('close', finish);
      // A daemon that keeps the pipes open (it forked and kept stdout) must not hang the exec.
      child.on('exit', (code, signal) => {
        grace = setTimeout(() => {
          child.stdout!.destroy();
          child.stderr!.destroy();
          finish(code, signal);
        }, 2000);
      });
      if (opts.stdin !== undefined) {
        child.stdin!.on('error', () => {
          /* the command did not read it all: its exit code tells */
        });
        child.stdin!.end(opts.stdin);
      }
    });
  }

  async exec(cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const node = this.spec.name;
    const base = { command: cmd, node };
    if (opts.detach) {
      this.assertAlive();
      const t0 = Date.now();
      const child = spawn(this.tools.nsenter, this.argv(cmd), { env: this.env(), detached: true, stdio: 'ignore' });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', (e) =>
          reject(new CtlabError('HOST', `cannot run nsenter for node ${node}: ${e.message}`, { cause: e })),
        );
      });
      child.unref();
      return { ...base, exitCode: null, stdout: '', stderr: '', timedOut: false, durationMs: Date.now() - t0 };
    }
    const r = await this.run(cmd, { timeoutMs: opts.timeoutMs, stdin: opts.stdin });
    const result: ExecResult = {
      ...base,
      exitCode: r.exitCode,
      stdout: r.stdout.toString('utf8'),
      stderr: r.stderr.toString('utf8'),
      timedOut: r.timedOut,
      durationMs: r.durationMs,
    };
    if ((r.timedOut || r.exitCode !== 0) && opts.reject !== false) {
      throw new CtlabError(
        'EXEC',
        r.timedOut
          ? `\`${cmd.join(' ')}\` in node ${node} timed out after ${opts.timeoutMs} ms`
          : `\`${cmd.join(' ')}\` in node ${node} failed with exit code ${r.exitCode}${result.stderr.trim() ? `: ${result.stderr.trim().split('\n').pop()}` : ''}`,
        {
          command: cmd,
          exitCode: r.exitCode,
          timedOut: r.timedOut,
          stdout: result.stdout,
          stderr: result.stderr,
        },
      );
    }
    return result;
  }

  async readFile(path: string): Promise<Buffer> {
    const r = await this.run(
      ['sh', '-c', 'if [ -f "$1" ]; then exec cat -- "$1"; elif [ -e "$1" ]; then exit 3; else exit 2; fi', 'sh', path],
      { timeoutMs: 60_000 },
    );
    if (r.exitCode === 0) return r.stdout;
    if (r.exitCode === 2) throw new CtlabError('EXEC', `node ${this.spec.name} has no file ${path}`);
    if (r.exitCode === 3) throw new CtlabError('EXEC', `${path} in node ${this.spec.name} is not a regular file`);
    throw new CtlabError('EXEC', `reading ${path} from node ${this.spec.name} failed (exit ${r.exitCode})`, {
      stderr: r.stderr.toString('utf8'),
      timedOut: r.timedOut,
    });
  }

  async writeFile(path: string, content: Buffer | string): Promise<void> {
    if (!path.startsWith('/')) throw new CtlabError('EXEC', `writeFile needs an absolute path, not ${path}`);
    const r = await this.run(['sh', '-c', '[ -d "$(dirname -- "$1")" ] || exit 2; cat > "$1"', 'sh', path], {
      timeoutMs: 60_000,
      stdin: content,
    });
    if (r.exitCode === 0) return;
    if (r.exitCode === 2) throw new CtlabError('EXEC', `node ${this.spec.name} has no directory ${dirname(path)}`);
    throw new CtlabError('EXEC', `writing ${path} into node ${this.spec.name} failed (exit ${r.exitCode})`, {
      stderr: r.stderr.toString('utf8'),
      timedOut: r.timedOut,
    });
  }
}
