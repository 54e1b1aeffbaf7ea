// Shared by the integration tests: is a Docker engine reachable? Without one a test file skips
// with a message, except in CI (CI=true), where the missing prerequisite is a failure.
import { connectDocker } from '../../src/runtime/connect.js';
import { runFilter } from '../../src/runtime/labels.js';
import { checkNetnsHost } from '../../src/runtime/netns/host-check.js';

export interface DockerGate {
  /** Why Docker is unreachable, or undefined when it answered. */
  unreachable: unknown;
  /** Skip the file: Docker unreachable and not in CI. */
  skip: boolean;
}

export async function dockerGate(testName: string): Promise<DockerGate> {
  let unreachable: unknown;
  try {
    await connectDocker({ timeoutMs: 3000 });
  } catch (err) {
    unreachable = err;
  }
  const skip = unreachable !== undefined && process.env.CI !== 'true';
  if (skip) console.warn(`[${testName}] SKIPPED: ${(unreachable as Error).message} (set CI=true to make this a failure)`);
  return { unreachable, skip };
}

/** Can the namespace runtime run here (root, the host programs, the kernel features)? Same rule as dockerGate. */
export function netnsGate(testName: string): DockerGate {
  let unreachable: unknown;
  try {
    checkNetnsHost();
  } catch (err) {
    unreachable = err;
  }
  const skip = unreachable !== undefined && process.env.CI !== 'true';
  if (skip) console.warn(`[${testName}] SKIPPED: ${(unreachable as Error).message} (set CI=true to make this a failure)`);
  return { unreachable, skip };
}

/** Containers still carrying ctlab.run=<runId>. */
export async function labelledContainers(runId: string): Promise<number> {
  const docker = await connectDocker();
  return (await docker.listContainers({ all: true, filters: runFilter(runId) })).length;
}
