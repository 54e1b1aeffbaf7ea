// The lab-level sysctl failure: a value the node's runtime refuses when the node is created (the
// pre-check in a throwaway namespace is bypassed here, as when ctlab runs without root). Both
// runtimes must fail with the KERNEL error (exit 3), one line naming the node and the sysctl, and
// leave nothing running. Without Docker (or root for netns): fails when CI=true, skips otherwise.
import { expect, it } from 'vitest';
import { CtlabError } from '../../src/errors.js';
import { connectDocker } from '../../src/runtime/connect.js';
import { DockerRuntime } from '../../src/runtime/docker.js';
import { runFilter } from '../../src/runtime/labels.js';
import { findLabProcesses } from '../../src/runtime/netns/procs.js';
import { NetnsRuntime } from '../../src/runtime/netns/runtime.js';
import { standardImages } from '../../src/runtime/standard-lab.js';
import type { Runtime } from '../../src/runtime/types.js';
import { describeWith, type Gate } from '../gate.js';
import { dockerGate, netnsGate } from './docker-gate.js';

const cases: Array<{
  kind: string;
  gate: Gate;
  create: () => Promise<Runtime>;
  left: (runId: string) => Promise<number>;
}> = [
  {
    kind: 'docker',
    gate: await dockerGate(),
    create: async () => DockerRuntime.create({ images: await standardImages() }),
    left: async (runId) =>
      (await (await connectDocker()).listContainers({ all: true, filters: runFilter(runId) })).length,
  },
  {
    kind: 'netns',
    gate: netnsGate(),
    create: () => NetnsRuntime.create({}),
    left: async (runId) => (await findLabProcesses((run) => run === runId)).victims.length,
  },
];

for (const c of cases) {
  describeWith(c.gate, `sysctl refused at node creation (${c.kind})`, () => {
    it('fails with the KERNEL error (exit 3), one line naming the node and the sysctl, nothing left', async () => {
      const rt = await c.create();
      let err: unknown;
      try {
        await rt.createNode({
          name: 'server',
          role: 'server',
          sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': '2' },
        });
      } catch (e) {
        err = e;
      } finally {
        await rt.destroy();
      }
      expect(err).toBeInstanceOf(CtlabError);
      const e = err as CtlabError;
      expect(e.code).toBe('KERNEL');
      expect(e.message).toMatch(
        /^node server could not start: .*(sysctl|nf_conntrack_tcp_be_liberal).*invalid argument/i,
      );
      expect(e.message).not.toContain('\n');
      expect(await c.left(rt.runId)).toBe(0);
    }, 120_000);
  });
}
