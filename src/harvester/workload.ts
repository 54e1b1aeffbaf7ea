// The command lines the orchestrator runs inside the lab nodes, built from the scenario's
// workload, so that option names live in one place (this file and the two CLIs it targets).

import { BUNDLES } from '../bundles.js';
import type { HarvestWorkload } from '../scenario/model.js';

/** Where the bundled CLIs sit inside the lab (under /opt/ctlab), relative to the project root. */
export const GENERATOR_MAIN = BUNDLES.repository.out;
export const HARVESTER_MAIN = BUNDLES.harvester.out;

/** Arguments for `node dist/bundle/repository.mjs` (run in the server node before nginx starts). */
export function generatorArgv(w: HarvestWorkload, o: { out: string; seed: number; baseUrl?: string }): string[] {
  const argv = [
    '--out',
    o.out,
    '--records',
    String(w.records),
    '--page-size',
    String(w.pageSize),
    '--record-bytes',
    String(w.recordBytes),
    '--seed',
    String(o.seed),
  ];
  if (o.baseUrl) argv.push('--base-url', o.baseUrl);
  return argv;
}

/** Arguments for `node dist/bundle/harvester.mjs` (run in the harvester node). */
export function harvesterArgv(w: HarvestWorkload, o: { baseUrl: string; events: string; quiet?: boolean }): string[] {
  const argv = [
    '--base-url',
    o.baseUrl,
    '--events',
    o.events,
    '--connect-timeout-ms',
    String(w.connectTimeoutMs),
    '--read-timeout-ms',
    String(w.readTimeoutMs),
    '--retries',
    String(w.retries),
    '--backoff-ms',
    String(w.backoffMs),
    '--max-duration-ms',
    String(w.maxDurationMs),
  ];
  if (w.keepAlive) argv.push('--keep-alive');
  if (o.quiet) argv.push('--quiet');
  return argv;
}
