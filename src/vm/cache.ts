// The VM runner's cache: ~/.cache/ctlab/vm (or $CTLAB_CACHE/vm). Every artefact sits under a key
// made from its content (or the content of what it is built from), written to a temporary name
// and renamed into place, so an interrupted build never leaves a half file that looks finished
// and two runs building the same thing at once both end up with a whole one.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CtlabError, type ErrorCode } from '../errors.js';

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.CTLAB_CACHE || join(env.HOME || homedir(), '.cache', 'ctlab');
  return join(base, 'vm');
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export function sha256(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(typeof p === 'string' ? Buffer.from(p) : p);
    h.update('\0');
  }
  return h.digest('hex');
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A temporary sibling name for `path` (same folder, so rename is atomic). */
export function tmpName(path: string): string {
  return `${path}.tmp-${process.pid}-${Date.now().toString(36)}`;
}

export async function writeFileAtomic(path: string, content: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const t = tmpName(path);
  await writeFile(t, content);
  await rename(t, path);
}

/**
 * Produce `path` once: if it exists, return it; otherwise run make(tmp) to create a temporary
 * file or folder and rename it into place. A concurrent maker that finished first wins.
 */
export async function produce(path: string, make: (tmp: string) => Promise<void>): Promise<string> {
  if (await exists(path)) return path;
  await mkdir(dirname(path), { recursive: true });
  const t = tmpName(path);
  try {
    await make(t);
    if (await exists(path)) await rm(t, { recursive: true, force: true });
    else await rename(t, path);
  } catch (e) {
    await rm(t, { recursive: true, force: true });
    throw e;
  }
  return path;
}

export interface CmdResult {
  stdout: string;
  stderr: string;
}

/** Run a host command; a failure becomes a CtlabError with the command, its exit code and stderr's tail. */
export function run(
  cmd: string,
  args: string[],
  o: {
    code?: ErrorCode;
    hint?: string;
    cwd?: string;
    timeoutMs?: number;
    env?: NodeJS.ProcessEnv;
    onLine?: (l: string) => void;
  } = {},
): Promise<CmdResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let pending = '';
    const timer = o.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, o.timeoutMs)
      : undefined;
    child.stdout.on('data', (d: Buffer) => {
      const s = d.toString();
      if (stdout.length < 8 << 20) stdout += s;
      if (o.onLine) {
        pending += s;
        const lines = pending.split('\n');
        pending = lines.pop()!; // split returns at least one element
        for (const l of lines) o.onLine(l);
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-64_000);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new CtlabError('HOST', e.code === 'ENOENT' ? `${cmd} is not installed` : `${cmd}: ${e.message}`, {
          command: [cmd, ...args],
          cause: e,
          hint: o.hint ?? `install ${cmd} (see scripts/setup.sh)`,
        }),
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && !timedOut) resolve({ stdout, stderr });
      else
        reject(
          new CtlabError(o.code ?? 'HOST', `${cmd} failed`, {
            command: [cmd, ...args],
            exitCode: code,
            timedOut,
            stderr: stderr || stdout.slice(-4000),
            hint: o.hint,
          }),
        );
    });
  });
}
