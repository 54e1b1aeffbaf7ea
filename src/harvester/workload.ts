// The command lines the orchestrator runs inside the lab nodes, built from the scenario's
// workload, so that option names live in one place (this file and the CLIs it targets: the
// repository generator, the harvester in both its modes, the service, and the shell around a
// command workload).

import { BUNDLES } from '../bundles.js';
import type {
  BulkWorkload,
  CommandWorkload,
  HarvestWorkload,
  HttpWorkload,
  UploadWorkload,
} from '../scenario/model.js';
import { shq } from '../util/shq.js';

/** Where the bundled CLIs sit inside the lab (under /opt/ctlab), relative to the project root. */
export const GENERATOR_MAIN = BUNDLES.repository.out;
export const HARVESTER_MAIN = BUNDLES.harvester.out;
export const SERVICE_MAIN = BUNDLES.service.out;

/** The port the server listens on (nginx for oai-pmh, the service otherwise): the firewall lets it through. */
export const SERVICE_PORT = 80;

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

/** Arguments for `node dist/bundle/harvester.mjs` running an http, upload or bulk workload. */
export function requestsArgv(
  w: HttpWorkload | UploadWorkload | BulkWorkload,
  o: { baseUrl: string; events: string; quiet?: boolean },
): string[] {
  return [
    '--workload',
    JSON.stringify(w),
    '--base-url',
    o.baseUrl,
    '--events',
    o.events,
    ...(o.quiet ? ['--quiet'] : []),
  ];
}

/**
 * A shell command (for `sh -c`, in the server node) that starts the service in the background
 * and returns once it listens, or fails with its log: a bad start fails this set-up step.
 */
export function serviceStartScript(o: { optRoot: string; accessLog: string; log: string }): string {
  const node = `node ${shq(`${o.optRoot}/${SERVICE_MAIN}`)} --port ${SERVICE_PORT} --access-log ${shq(o.accessLog)}`;
  return [
    `mkdir -p ${shq(o.accessLog.replace(/\/[^/]*$/, ''))} ${shq(o.log.replace(/\/[^/]*$/, ''))}`,
    `setsid ${node} > ${shq(o.log)} 2>&1 < /dev/null &`,
    'pid=$!',
    `for i in $(seq 300); do grep -q '^listening' ${shq(o.log)} && exit 0; kill -0 $pid 2>/dev/null || break; sleep 0.1; done`,
    `echo "the service did not start: $(cat ${shq(o.log)})" >&2`,
    'exit 1',
  ].join('\n');
}

/** The environment a command workload sees: where the server is. */
export function commandEnv(o: { host: string; port: number }): Record<string, string> {
  return { CTLAB_SERVER: o.host, CTLAB_PORT: String(o.port), CTLAB_URL: `http://${o.host}:${o.port}` };
}

/**
 * The client node's command for a command workload: the user's command under `sh -c`, stopped
 * by timeout(1) after maxDurationMs (TERM, KILL 5 s later), its stdout and stderr to files, and
 * one status line on stdout for src/measure/parse.ts (parseCommandStatus):
 * `ctlab-command rc=<exit code> ms=<duration>`.
 */
export function commandArgv(
  w: CommandWorkload,
  o: { host: string; port: number; stdout: string; stderr: string },
): string[] {
  const env = Object.entries({ ...commandEnv(o), CTLAB_COMMAND: w.command }).map(([k, v]) => `${k}=${v}`);
  const script = [
    's=$(date +%s%N)',
    `timeout -k 5 ${(w.maxDurationMs / 1000).toFixed(3)} sh -c "$CTLAB_COMMAND" > ${shq(o.stdout)} 2> ${shq(o.stderr)} < /dev/null`,
    'rc=$?',
    'e=$(date +%s%N)',
    'echo "ctlab-command rc=$rc ms=$(( (e - s) / 1000000 ))"',
  ].join('\n');
  return ['env', ...env, 'sh', '-c', script];
}
