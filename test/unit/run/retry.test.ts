import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CtlabError } from '../../../src/errors.js';
import { runScenario } from '../../../src/run/run.js';
import type { LabNode, LinkSpec, NodeSpec, Runtime } from '../../../src/runtime/types.js';
import { loadScenario } from '../../../src/scenario/load.js';

/** A runtime whose links fail as the vanished-veth flake does, counting what it was asked. */
function flakyRuntime(failures: string[]): Runtime & { created: number; removed: number; links: number } {
  const rt = {
    kind: 'docker' as const,
    runId: 'retry-test',
    created: 0,
    removed: 0,
    links: 0,
    async createNode(spec: NodeSpec): Promise<LabNode> {
      rt.created++;
      return { spec, id: spec.name, pid: 1, exec: async () => { throw new Error('not used'); }, readFile: async () => Buffer.alloc(0), writeFile: async () => {} };
    },
    async link(_spec: LinkSpec): Promise<void> {
      rt.links++;
      throw new CtlabError('LAB', failures.shift() ?? 'no more failures scripted');
    },
    async removeNode(): Promise<void> { rt.removed++; },
    async destroy(): Promise<void> {},
  };
  return rt;
}

let dir = '';
afterEach(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

describe('a lab that does not come up', () => {
  it('is torn down and tried once more on a fresh lab, and the second failure is the one reported', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctlab-retry-'));
    const s = loadScenario('scenarios/harvester-asa.yaml');
    const rt = flakyRuntime(['link v1-harvester:eth0: Cannot find device "eth0"', 'second failure']);
    const log: string[] = [];
    await expect(runScenario(s, { outDir: dir, variants: ['flag-off'], createRuntime: async () => rt, progress: (m) => log.push(m) })).rejects.toThrow('second failure');
    expect(rt.links).toBe(2); // one lab, then one fresh lab: never a third
    expect(rt.created).toBe(2 * 3);
    expect(rt.removed).toBeGreaterThanOrEqual(3); // the first lab's three hosts were removed before the retry
    expect(log).toContainEqual('flag-off: the lab did not come up (link v1-harvester:eth0: Cannot find device "eth0"); removing it and trying a fresh lab, once');
  });
});
