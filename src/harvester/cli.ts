// The harvester's command line, as a function (tests call it; main.ts is the process wrapper,
// bundled as dist/bundle/harvester.mjs); what it shares with the workloads' command line is in client-cli.ts.
import { CtlabError } from '../errors.js';
import { parseOptions, wholeNumber } from '../util/args.js';
import { runClientCli, type CliIo } from './client-cli.js';
import {
  HARVEST_DEFAULTS,
  harvest,
  validateHarvestOptions,
  type HarvestEvent,
  type HarvestOptions,
} from './harvest.js';

const USAGE = [
  'usage: harvester.mjs --base-url URL [--events FILE] [--metadata-prefix oai_dc] [--keep-alive]',
  `  [--connect-timeout-ms ${HARVEST_DEFAULTS.connectTimeoutMs}] [--read-timeout-ms ${HARVEST_DEFAULTS.readTimeoutMs}]`,
  `  [--retries ${HARVEST_DEFAULTS.retries}] [--backoff-ms ${HARVEST_DEFAULTS.backoffMs}] [--max-duration-ms 0 (none)]`,
  '  [--local-address IP] [--user-agent STR] [--quiet]',
].join('\n');

const INT_OPTS = {
  'connect-timeout-ms': 'connectTimeoutMs',
  'read-timeout-ms': 'readTimeoutMs',
  retries: 'retries',
  'backoff-ms': 'backoffMs',
  'max-duration-ms': 'maxDurationMs',
} as const;
const STR_OPTS = {
  'base-url': 'baseUrl',
  'metadata-prefix': 'metadataPrefix',
  'local-address': 'localAddress',
  'user-agent': 'userAgent',
} as const;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  'keep-alive': { type: 'boolean' },
  'no-keep-alive': { type: 'boolean' },
  quiet: { type: 'boolean' },
  events: { type: 'string' },
  ...Object.fromEntries(
    [...Object.keys(INT_OPTS), ...Object.keys(STR_OPTS)].map((k) => [k, { type: 'string' } as const]),
  ),
} as const;

/** The command line → harvest options (only those given), or `help`. Throws CtlabError('SCENARIO'). */
export function parseHarvestArgs(argv: string[]): {
  options: HarvestOptions;
  events: string | null;
  quiet: boolean;
  help?: true;
} {
  const v = parseOptions(argv, OPTIONS) as Record<string, string | boolean | undefined>;
  const o: Partial<Record<string, unknown>> = {};
  if (v.help) return { options: { baseUrl: '' }, events: null, quiet: false, help: true };
  if (v['no-keep-alive']) o.keepAlive = false;
  else if (v['keep-alive']) o.keepAlive = true;
  for (const [name, key] of Object.entries(INT_OPTS))
    if (typeof v[name] === 'string') o[key] = wholeNumber(name, v[name]);
  for (const [name, key] of Object.entries(STR_OPTS)) if (typeof v[name] === 'string') o[key] = v[name];
  if (typeof o.baseUrl !== 'string') throw new CtlabError('SCENARIO', 'option --base-url URL is required');
  return {
    options: o as unknown as HarvestOptions,
    events: typeof v.events === 'string' ? v.events : null,
    quiet: v.quiet === true,
  };
}

function line(e: HarvestEvent): string {
  if (e.type === 'summary') {
    return (
      `summary: ${e.records}/${e.expectedRecords ?? '?'} records, ${e.pages} pages, ${e.attempts.total} attempts ` +
      `(${e.attempts.timedOut} timed out, ${e.attempts.retries} retries), ${Math.round(e.durationMs)} ms, ${e.stoppedBecause}`
    );
  }
  return (
    `page ${e.page} attempt ${e.attempt} port ${e.localPort ?? '-'}: ${e.outcome}` +
    (e.outcome === 'ok'
      ? ` ${e.records} records ${e.bytes} B in ${Math.round(e.totalMs)} ms`
      : ` after ${Math.round(e.totalMs)} ms: ${e.error}`)
  );
}

export type { CliIo } from './client-cli.js';

/** Run the harvester CLI; resolves to the exit code (0 complete, 1 incomplete, 2 usage). */
export function runHarvestCli(argv: string[], io: CliIo): Promise<number> {
  return runClientCli(io, {
    usage: USAGE,
    parse: () => {
      const parsed = parseHarvestArgs(argv);
      if (parsed.help) return null;
      validateHarvestOptions(parsed.options);
      return parsed;
    },
    run: (parsed, onEvent: (e: HarvestEvent) => void) => harvest({ ...parsed.options, signal: io.signal, onEvent }),
    line,
  });
}
