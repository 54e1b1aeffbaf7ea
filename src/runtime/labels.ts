// Names and labels every Docker object of a lab carries. Cleanup finds objects ONLY by these
// labels, never by name patterns, so nothing that ctlab did not create can be touched.

import { randomBytes } from 'node:crypto';
import { CtlabError } from '../errors.js';

export const LABEL_RUN = 'ctlab.run';
export const LABEL_NODE = 'ctlab.node';
export const LABEL_ROLE = 'ctlab.role';
export const LABEL_KIND = 'ctlab.kind';
export const LABEL_HASH = 'ctlab.hash';

const RUN_ID_RE = /^[a-z0-9][a-z0-9_.-]{0,39}$/;
const NODE_RE = /^[a-z0-9][a-z0-9_.-]{0,29}$/;

/** A fresh run id: UTC time to the second plus 4 random hex digits, e.g. "20261125-104735-3fa2". */
export function newRunId(now: Date = new Date()): string {
  const iso = now.toISOString(); // 2026-11-25T10:47:35.305Z
  const stamp = `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}`;
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

export function assertRunId(runId: string): string {
  if (!RUN_ID_RE.test(runId)) {
    throw new CtlabError('SCENARIO', `invalid run id ${JSON.stringify(runId)}`, {
      hint: 'use 1-40 characters: lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
    });
  }
  return runId;
}

export function assertNodeName(name: string): string {
  if (!NODE_RE.test(name)) {
    throw new CtlabError('SCENARIO', `invalid node name ${JSON.stringify(name)}`, {
      hint: 'use 1-30 characters: lower-case letters, digits, ".", "_" or "-"',
    });
  }
  return name;
}

/** Container name: contains the run id so two runs never collide. */
export function containerName(runId: string, node: string): string {
  return `ctlab-${runId}-${node}`;
}

/** Labels of a lab node's container. */
export function nodeLabels(runId: string, node: string, role: string): Record<string, string> {
  return { [LABEL_RUN]: runId, [LABEL_NODE]: node, [LABEL_ROLE]: role, [LABEL_KIND]: 'node' };
}

/** Labels of the user's image running in a node's network namespace. */
export function imageLabels(runId: string, node: string): Record<string, string> {
  return { [LABEL_RUN]: runId, [LABEL_NODE]: node, [LABEL_KIND]: 'image' };
}

/** Labels of a short-lived helper container (veth wiring). */
export function helperLabels(runId: string): Record<string, string> {
  return { [LABEL_RUN]: runId, [LABEL_KIND]: 'helper' };
}

/**
 * Docker API `filters` for objects of one run (runId given) or of every ctlab run.
 * `label=ctlab.run` matches any value; `label=ctlab.run=X` one value.
 */
export function runFilter(runId?: string): { label: string[] } {
  return { label: [runId === undefined ? LABEL_RUN : `${LABEL_RUN}=${assertRunId(runId)}`] };
}

/** Filter for every image ctlab built or imported. */
export function imageFilter(): { label: string[] } {
  return { label: [LABEL_ROLE] };
}
