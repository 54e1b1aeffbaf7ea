import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CtlabError } from '../../../src/errors.js';
import { runScenario } from '../../../src/run/run.js';
import type { LabNode, LinkSpec, NodeSpec, Runtime } from '../../../src/runtime/types.js';
import { loadScenario } from '../../../src/scenario/load.js';

/** A runtime whose links fail, counting what it was asked. */
function flakyRuntime(failures: string[]): Runtime & { created: number; removed: number; links: number } {
  const rt = {
    kind: 'docker' as const,
    runId: 'retry-test',
    created: 0,
    removed: 0,
    links: 0,
    async createNode(spec: NodeSpec): Promise<LabNode> {
      rt.created++;
      return {
        spec,
        id: spec.name,
        pid: 1,
        exec: async () => {
          throw new Error('not used');
        },
        readFile: async () => Buffer.alloc(0),
        writeFile: async () => {},
      };
    },
    async link(_spec: LinkSpec): Promise<void> {
      rt.links++;
      throw new CtlabError('LAB', failures.shift() ?? 'no more failures scripted');
    },
    async removeNode(): Promise<void> {
      rt.removed++;
    },
    async destroy(): Promise<void> {},
  };
  return rt;
}

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a lab that does not come up', () => {
  it('fails its variant at once: no second lab, its hosts removed, the first failure reported', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctlab-retry-'));
    const s = loadScenario('scenarios/harvester-asa.yaml');
    const rt = flakyRuntime(['link v1-harvester:eth0: Cannot find device "eth0"', 'second failure']);
    await expect(
      runScenario(s, { outDir: dir, variants: ['flag-off'], createRuntime: async () => rt, progress: () => {} }),
    ).rejects.toThrow('Cannot find device "eth0"');
    expect(rt.links).toBe(1); // one lab, no hidden retry
    expect(rt.created).toBe(3);
    expect(rt.removed).toBeGreaterThanOrEqual(3); // its three hosts were removed
  });
});
