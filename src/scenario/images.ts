// Where a scenario's own images (`server.image`, `client.image`) can run: only in Docker
// containers on this machine's kernel, since the image's container joins a lab node's network
// namespace by `NetworkMode: container:<node>`. Plain namespaces (`--runtime netns`) and VMs
// (`--kernel`, which run the namespace runtime in the guest) have no Docker to run them. Pure.
import type { Scenario } from './model.js';

/** The scenario's images as `field (name)`, e.g. ["server.image (my-svc:1)"]. */
export function scenarioImages(s: Scenario): string[] {
  return [
    ...(s.server.image ? [`server.image (${s.server.image.name})`] : []),
    ...(s.client?.image ? [`client.image (${s.client.image.name})`] : []),
  ];
}

/** Why these run options cannot run the scenario's images (one line), or undefined when they can. */
export function imagesRuntimeProblem(
  s: Scenario,
  o: { runtime: 'docker' | 'netns'; kernels?: readonly string[] },
): string | undefined {
  const images = scenarioImages(s);
  if (images.length === 0) return undefined;
  const what = images.join(' and ');
  const vm = (o.kernels ?? []).filter((k) => k !== 'host');
  if (vm.length > 0)
    return `${what}: --kernel ${vm.join(',')} runs the lab in a VM as plain namespaces, which cannot run images (only the Docker runtime on this machine's kernel can)`;
  if (o.runtime !== 'docker')
    return `${what}: --runtime ${o.runtime} cannot run images (only the Docker runtime can: leave --runtime out)`;
  return undefined;
}
