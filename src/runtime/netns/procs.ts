// A namespace lab's processes, found through /proc: each node's identity (CTLAB_RUN/CTLAB_NODE in
// the environment), the processes in its network namespaces, and SIGKILLing them until none is
// left. Never a process in the host's network namespace.

import { readlinkSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { CtlabError } from '../../errors.js';
import { sleep } from '../../util/sleep.js';

export const ENV_RUN = 'CTLAB_RUN';
export const ENV_NODE = 'CTLAB_NODE';

/** `KEY=value` pairs of a NUL-separated /proc/<pid>/environ. */
export function parseEnviron(buf: Buffer | string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of buf.toString('utf8').split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

interface ProcInfo {
  pid: number;
  netns: string;
  run?: string;
  node?: string;
}

/**
 * Every process on the host with its network namespace and its ctlab identity (if any). Read
 * asynchronously: one scan reads a few hundred /proc files (about 30 ms here, measured), while
 * another variant's lab keeps running.
 */
async function scanProcesses(): Promise<ProcInfo[]> {
  const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e)).map(Number);
  const found = await Promise.all(
    pids.map(async (pid): Promise<ProcInfo | undefined> => {
      let netns: string;
      try {
        netns = await readlink(`/proc/${pid}/ns/net`);
      } catch {
        return undefined; // gone, a zombie or a kernel thread
      }
      let env: Record<string, string> = {};
      try {
        env = parseEnviron(await readFile(`/proc/${pid}/environ`));
      } catch {
        /* gone */
      }
      return { pid, netns, run: env[ENV_RUN], node: env[ENV_NODE] };
    }),
  );
  return found.filter((p): p is ProcInfo => p !== undefined);
}

export function hostNetnses(): Set<string> {
  const s = new Set<string>();
  for (const p of ['/proc/self/ns/net', '/proc/1/ns/net']) {
    try {
      s.add(readlinkSync(p));
    } catch {
      /* no /proc/1 access: self is enough */
    }
  }
  return s;
}

export interface NetnsVictim {
  pid: number;
  runId: string;
  node?: string;
}

/**
 * The processes of the matching runs (and nodes): those carrying the identity, and every process
 * in their network namespaces. Never a process in the host's network namespace.
 */
export async function findLabProcesses(
  match: (run: string, node?: string) => boolean,
): Promise<{ victims: number[]; nodes: NetnsVictim[]; netnses: Set<string> }> {
  const procs = await scanProcesses();
  const host = hostNetnses();
  const netnses = new Set<string>();
  const nodes: NetnsVictim[] = [];
  for (const p of procs) {
    if (p.run === undefined || !match(p.run, p.node) || host.has(p.netns)) continue;
    netnses.add(p.netns);
  }
  const victims: number[] = [];
  for (const p of procs) {
    if (p.pid === process.pid || host.has(p.netns) || !netnses.has(p.netns)) continue;
    victims.push(p.pid);
    if (p.run !== undefined && match(p.run, p.node)) nodes.push({ pid: p.pid, runId: p.run, node: p.node });
  }
  return { victims, nodes, netnses };
}

/** SIGKILL every process of the matching runs/nodes and wait until their namespaces are empty. */
export async function killLab(
  match: (run: string, node?: string) => boolean,
  timeoutMs = 10_000,
): Promise<{ killed: number; nodes: NetnsVictim[] }> {
  const first = await findLabProcesses(match);
  const killed = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  let round = first;
  for (;;) {
    for (const pid of round.victims) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
      } catch {
        /* gone */
      }
    }
    await sleep(round.victims.length ? 30 : 0);
    // Processes in the namespaces, found by namespace (a daemon that dropped the environment too).
    const left = (await scanProcesses()).filter((p) => round.netnses.has(p.netns) || first.netnses.has(p.netns));
    const again = await findLabProcesses(match);
    if (left.length === 0 && again.victims.length === 0) break;
    if (Date.now() > deadline) {
      throw new CtlabError(
        'LAB',
        `processes of the lab are still alive after SIGKILL: ${[...left.map((p) => p.pid), ...again.victims].join(', ')}`,
        {
          hint: 'a process in uninterruptible sleep (D state); see `ps -o pid,stat,cmd -p <pids>`',
        },
      );
    }
    round = {
      victims: [...left.map((p) => p.pid), ...again.victims],
      nodes: [],
      netnses: new Set([...round.netnses, ...again.netnses]),
    };
  }
  return { killed: killed.size, nodes: first.nodes };
}

/** The network namespace ("net:[inode]") of a process, or undefined when it is gone. */
export function netnsOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** SIGKILL every process in one network namespace (never the host's) and wait until none is left. */
export async function killNetns(netns: string, timeoutMs = 10_000): Promise<void> {
  if (hostNetnses().has(netns)) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = (await scanProcesses()).filter((p) => p.netns === netns && p.pid !== process.pid);
    if (!left.length) return;
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (Date.now() > deadline)
      throw new CtlabError('LAB', `processes ${left.map((p) => p.pid).join(', ')} in ${netns} survive SIGKILL`);
    await sleep(30);
  }
}
