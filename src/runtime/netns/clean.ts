// Removing what namespace labs left behind (after a SIGKILLed ctlab, say): the processes of the
// matching runs and everything in their network namespaces, then the runs' state directories.

import { existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { assertRunId } from '../labels.js';
import { killLab } from './procs.js';
import { NETNS_STATE_ROOT } from './runtime.js';

export interface NetnsCleanResult {
  /** Processes killed (holders, exec'd processes, daemons in the namespaces). */
  processes: number;
  /** Distinct (run, node) pairs that had processes. */
  nodes: { runId: string; node: string }[];
  /** State directories removed. */
  stateDirs: string[];
}

/**
 * Remove what namespace labs left (after a SIGKILLed ctlab, say): every process carrying
 * CTLAB_RUN=<runId> (any run when runId is undefined), every process in their network
 * namespaces, and the state directories. Nothing else is touched.
 */
export async function cleanNetnsLab(o: { runId?: string } = {}): Promise<NetnsCleanResult> {
  const runId = o.runId === undefined ? undefined : assertRunId(o.runId);
  const r = await killLab((run) => runId === undefined || run === runId);
  const pairs = new Map<string, { runId: string; node: string }>();
  for (const n of r.nodes) if (n.node) pairs.set(`${n.runId}/${n.node}`, { runId: n.runId, node: n.node });
  const stateDirs: string[] = [];
  const runs = runId !== undefined ? [runId] : existsSync(NETNS_STATE_ROOT) ? readdirSync(NETNS_STATE_ROOT) : [];
  for (const id of runs) {
    const dir = join(NETNS_STATE_ROOT, id);
    if (!existsSync(dir)) continue;
    await rm(dir, { recursive: true, force: true });
    stateDirs.push(dir);
  }
  return { processes: r.killed, nodes: [...pairs.values()], stateDirs };
}
