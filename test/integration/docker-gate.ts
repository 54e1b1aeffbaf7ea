// The integration tests' prerequisites as gates (test/gate.ts): is a Docker engine reachable, can
// the namespace runtime run here; and how many containers a run left behind.
import { connectDocker } from '../../src/runtime/connect.js';
import { runFilter } from '../../src/runtime/labels.js';
import { checkNetnsHost } from '../../src/runtime/netns/host-check.js';
import { gate, type Gate } from '../gate.js';

/** Open when a Docker engine answers; closed with the reason it did not. */
export async function dockerGate(): Promise<Gate> {
  try {
    await connectDocker({ timeoutMs: 3000 });
    return gate();
  } catch (err) {
    return gate(`a Docker engine (${(err as Error).message})`);
  }
}

/** Open when the namespace runtime can run here (root, the host programs, the kernel features). */
export function netnsGate(): Gate {
  try {
    checkNetnsHost();
    return gate();
  } catch (err) {
    return gate(`the namespace runtime's host (${(err as Error).message})`);
  }
}

/** Containers still carrying ctlab.run=<runId>. */
export async function labelledContainers(runId: string): Promise<number> {
  const docker = await connectDocker();
  return (await docker.listContainers({ all: true, filters: runFilter(runId) })).length;
}
