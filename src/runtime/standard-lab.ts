// The lab's fixed three-host shape, for the runtime's own tests, the bench and hand use:
// client (harvester) 198.18.1.2/24 -- 198.18.1.1 middlebox 198.18.2.1 -- 198.18.2.2/24 server.
// The scenario-driven topology builds the same thing with its own options.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildResult } from './images.js';
import type { LabNode, Role, Runtime } from './types.js';
import { repoRoot } from '../util/repo-root.js';

export const LAB = {
  client: { node: 'client', ifname: 'eth-mb', address: '198.18.1.2/24', gw: '198.18.1.1' },
  mbClient: { node: 'middlebox', ifname: 'eth-client', address: '198.18.1.1/24' },
  mbServer: { node: 'middlebox', ifname: 'eth-server', address: '198.18.2.1/24' },
  server: { node: 'server', ifname: 'eth-mb', address: '198.18.2.2/24', gw: '198.18.2.1' },
} as const;

/** Build (or find cached) images for the roles whose Dockerfile exists; the rest use the base. */
export async function standardImages(
  opts: { verbose?: boolean } = {},
): Promise<BuildResult['images'] & Record<Role, string>> {
  // Loaded here, not at module load: the namespace runtime uses this file where Docker does not exist.
  const { buildLabImages, ROLES } = await import('./images.js');
  const root = repoRoot();
  const roles = ROLES.filter((r) => existsSync(join(root, 'lab', r, 'Dockerfile')));
  const res = await buildLabImages({ roles, verbose: opts.verbose });
  return {
    server: res.images.base,
    middlebox: res.images.base,
    harvester: res.images.base,
    ...res.images,
  } as BuildResult['images'] & Record<Role, string>;
}

/** A runtime that can hand back the nodes it created (DockerRuntime and NetnsRuntime both can). */
export type LookupRuntime = Runtime & { node(name: string): LabNode };

/** Create the three nodes and wire them, with either runtime; returns when client and server have default routes. */
export async function upStandardLab(
  rt: LookupRuntime,
  opts: { serverSysctls?: Record<string, string> } = {},
): Promise<void> {
  await Promise.all([
    rt.createNode({ name: 'client', role: 'harvester' }),
    rt.createNode({ name: 'middlebox', role: 'middlebox', sysctls: { 'net.ipv4.ip_forward': '1' } }),
    rt.createNode({ name: 'server', role: 'server', sysctls: opts.serverSysctls }),
  ]);
  await Promise.all([
    rt.link({ a: LAB.client, b: LAB.mbClient, mtu: 1500 }),
    rt.link({ a: LAB.server, b: LAB.mbServer, mtu: 1500 }),
  ]);
  await Promise.all([
    rt.node('client').exec(['ip', 'route', 'add', 'default', 'via', LAB.client.gw]),
    rt.node('server').exec(['ip', 'route', 'add', 'default', 'via', LAB.server.gw]),
  ]);
}
