// The harvester's command line for the http, upload and bulk workloads (requests.ts), as a
// function (tests call it; main.ts dispatches here when --workload is given):
//   harvester.mjs --workload '{"kind":"http",...}' --base-url http://198.18.2.2 [--events FILE] [--quiet]
// The workload is the scenario model's, as JSON (src/harvester/workload.ts writes it). One JSON
// line per attempt to --events as each ends, the summary as JSON on stdout (client-cli.ts).
// Exit 0: complete; 1: incomplete (or stopped by a signal); 2: usage error.
import { CtlabError } from '../errors.js';
import { issueLine } from '../scenario/issues.js';
import { parseOptions } from '../util/args.js';
import { runClientCli, type CliIo } from './client-cli.js';
import {
  requestWorkloadSchema,
  runRequests,
  serviceTarget,
  type RequestEvent,
  type RequestWorkload,
} from './requests.js';

const USAGE = 'usage: harvester.mjs --workload JSON --base-url URL [--events FILE] [--local-address IP] [--quiet]';

/** The command line → what to run. Throws CtlabError('SCENARIO'). */
export function parseRequestsArgs(argv: string[]): {
  workload: RequestWorkload;
  baseUrl: string;
  events: string | null;
  localAddress?: string;
  quiet: boolean;
} {
  const v = parseOptions(argv, {
    workload: { type: 'string' },
    'base-url': { type: 'string' },
    events: { type: 'string' },
    'local-address': { type: 'string' },
    quiet: { type: 'boolean' },
  });
  if (typeof v.workload !== 'string') throw new CtlabError('SCENARIO', 'option --workload JSON is required');
  if (typeof v['base-url'] !== 'string') throw new CtlabError('SCENARIO', 'option --base-url URL is required');
  let json: unknown;
  try {
    json = JSON.parse(v.workload);
  } catch (e) {
    throw new CtlabError('SCENARIO', `--workload is not JSON: ${(e as Error).message}`);
  }
  const r = requestWorkloadSchema.safeParse(json);
  if (!r.success) throw new CtlabError('SCENARIO', `--workload: ${issueLine(r.error.issues, json)}`);
  serviceTarget(v['base-url']);
  return {
    workload: r.data,
    baseUrl: v['base-url'],
    events: v.events ?? null,
    ...(v['local-address'] ? { localAddress: v['local-address'] } : {}),
    quiet: v.quiet === true,
  };
}

function line(e: RequestEvent): string {
  if (e.type === 'summary')
    return (
      `summary: ${e.kind} ${e.ok}/${e.requests} ok, ${e.bytes} bytes, ${e.attempts.total} attempts ` +
      `(${e.attempts.timedOut} timed out, ${e.attempts.retries} retries), ${Math.round(e.durationMs)} ms, ${e.stoppedBecause}`
    );
  return (
    `request ${e.page} attempt ${e.attempt} port ${e.localPort ?? '-'}: ${e.outcome}` +
    (e.outcome === 'ok'
      ? ` ${e.bytes} B in, ${e.bytesSent} B out in ${Math.round(e.totalMs)} ms`
      : ` after ${Math.round(e.totalMs)} ms: ${e.error}`)
  );
}

export function runRequestsCli(argv: string[], io: CliIo): Promise<number> {
  return runClientCli(io, {
    usage: USAGE,
    parse: () => (argv.includes('--help') || argv.includes('-h') ? null : parseRequestsArgs(argv)),
    run: (parsed, onEvent: (e: RequestEvent) => void) =>
      runRequests({
        baseUrl: parsed.baseUrl,
        workload: parsed.workload,
        ...(parsed.localAddress ? { localAddress: parsed.localAddress } : {}),
        signal: io.signal,
        onEvent,
      }),
    line,
  });
}

/** Whether a harvester command line is a workload's (--workload) rather than a harvest's. */
export function isRequestsArgv(argv: string[]): boolean {
  return argv.some((a) => a === '--workload' || a.startsWith('--workload='));
}
