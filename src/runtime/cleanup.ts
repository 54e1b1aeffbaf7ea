// Removing labs: by label only (ctlab.run), never by name pattern, so nothing ctlab did not
// create can be touched. Signal traps make Ctrl-C / SIGTERM / a crash destroy the lab first;
// after a SIGKILL only labelled objects remain, which `ctlab clean` (cleanLab) removes.

import type Docker from 'dockerode';
import { connectDocker, dockerError, isNotFound } from './connect.js';
import { imageFilter, LABEL_NODE, LABEL_ROLE, LABEL_RUN, runFilter } from './labels.js';

export interface CleanOptions {
  /** Only this run; default: every ctlab run. */
  runId?: string;
  /** Also remove ctlab images (label ctlab.role): roles first, then base, then the Debian root. */
  images?: boolean;
  docker?: Docker;
}

export interface CleanResult {
  containers: { id: string; name: string; runId: string; node?: string }[];
  networks: { id: string; name: string }[];
  images: { id: string; tags: string[]; role: string }[];
}

/** Order images so children go before parents: role images, then base, then debian-root. */
export function imageRemovalOrder(role: string): number {
  return role === 'debian-root' ? 2 : role === 'base' ? 1 : 0;
}

export async function cleanLab(opts: CleanOptions = {}): Promise<CleanResult> {
  const docker = await connectDocker({ docker: opts.docker });
  const filters = runFilter(opts.runId);
  const result: CleanResult = { containers: [], networks: [], images: [] };

  const containers = await docker.listContainers({ all: true, filters }).catch((e) => {
    throw dockerError(e, 'listing containers');
  });
  await Promise.all(
    containers.map(async (c) => {
      try {
        await docker.getContainer(c.Id).remove({ force: true });
      } catch (err) {
        // 404: already gone; 409: removal already in progress (another cleaner) — both fine.
        const code = (err as { statusCode?: number }).statusCode;
        if (!isNotFound(err) && code !== 409) throw dockerError(err, `removing container ${c.Names[0]}`);
      }
      result.containers.push({
        id: c.Id,
        name: (c.Names[0] ?? '').replace(/^\//, ''),
        runId: c.Labels[LABEL_RUN] ?? '',
        node: c.Labels[LABEL_NODE],
      });
    }),
  );

  const networks = await docker.listNetworks({ filters }).catch((e) => {
    throw dockerError(e, 'listing networks');
  });
  for (const n of networks) {
    try {
      await docker.getNetwork(n.Id).remove();
    } catch (err) {
      if (!isNotFound(err)) throw dockerError(err, `removing network ${n.Name}`);
    }
    result.networks.push({ id: n.Id, name: n.Name });
  }

  if (opts.images) {
    const images = await docker.listImages({ filters: imageFilter() }).catch((e) => {
      throw dockerError(e, 'listing images');
    });
    const sorted = images
      .map((i) => ({ id: i.Id, tags: i.RepoTags ?? [], role: i.Labels?.[LABEL_ROLE] ?? '' }))
      .filter((i) => opts.runId === undefined || images.find((x) => x.Id === i.id)?.Labels?.[LABEL_RUN] === opts.runId)
      .sort((a, b) => imageRemovalOrder(a.role) - imageRemovalOrder(b.role));
    for (const img of sorted) {
      try {
        await docker.getImage(img.id).remove({ force: true });
        result.images.push(img);
      } catch (err) {
        if (isNotFound(err)) continue;
        const code = (err as { statusCode?: number }).statusCode;
        if (code === 409) continue; // still used by a container that is not ctlab's, or has children: leave it
        throw dockerError(err, `removing image ${img.tags[0] ?? img.id}`);
      }
    }
  }
  return result;
}

// The signal traps live in traps.ts (no Docker import), re-exported for existing callers.
export { installCleanupTraps, type TrapOptions } from './traps.js';
