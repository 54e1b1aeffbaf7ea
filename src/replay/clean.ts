// Removing what a SIGKILLed `ctlab replay` left behind: its network namespaces (named
// ctlab-<run id>-<setting>-rpr / -rpw, src/replay/lab.ts replayNetns) and the processes in them
// (tcpreplay, tcpdump). Found by that naming only, so no other namespace on the machine is touched.

import { readdir, stat } from 'node:fs/promises';
import { execa } from 'execa';
import { CtlabError } from '../errors.js';
import { assertRunId } from '../runtime/labels.js';
import { killNetns } from '../runtime/netns/procs.js';
import { replayNetnsRun } from './lab.js';

/** Where `ip netns add` mounts named namespaces. */
const NETNS_DIR = '/run/netns';

export interface ReplayCleanResult {
  /** The namespaces removed, by name. */
  namespaces: string[];
  /** Processes killed in them. */
  processes: number;
}

/** The replay namespaces among `names` that belong to runId (any run when undefined). */
export function replayNamespacesOf(names: Iterable<string>, runId?: string): string[] {
  const out: string[] = [];
  for (const n of names) {
    const run = replayNetnsRun(n);
    if (run !== undefined && (runId === undefined || run === runId)) out.push(n);
  }
  return out.sort();
}

/** Kill the processes in the matching replay namespaces, then delete the namespaces. Needs root. */
export async function cleanReplay(o: { runId?: string } = {}): Promise<ReplayCleanResult> {
  const runId = o.runId === undefined ? undefined : assertRunId(o.runId);
  const names = await readdir(NETNS_DIR).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw e;
  });
  const result: ReplayCleanResult = { namespaces: [], processes: 0 };
  for (const name of replayNamespacesOf(names, runId)) {
    const path = `${NETNS_DIR}/${name}`;
    const ino = await stat(path).then(
      (s) => s.ino,
      () => undefined,
    );
    if (ino !== undefined) {
      const pids = await execa('ip', ['netns', 'pids', name], { reject: false });
      result.processes += pids.stdout.split('\n').filter((l) => /^\d+$/.test(l.trim())).length;
      await killNetns(`net:[${ino}]`);
    }
    const del = await execa('ip', ['netns', 'del', name], { reject: false, all: true });
    if (
      del.exitCode !== 0 &&
      (await stat(path).then(
        () => true,
        () => false,
      ))
    )
      throw new CtlabError('LAB', `cannot remove the replay namespace ${name}`, {
        stderr: del.all ?? '',
        exitCode: del.exitCode,
        command: ['ip', 'netns', 'del', name],
      });
    result.namespaces.push(name);
  }
  return result;
}
