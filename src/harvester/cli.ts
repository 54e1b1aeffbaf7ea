// The harvester's command line, as a function (tests call it; main.ts is the process wrapper).
import { closeSync, openSync, writeSync } from 'node:fs';
import { CtlabError } from '../errors.js';
import { HARVEST_DEFAULTS, harvest, validateHarvestOptions, type HarvestEvent, type HarvestOptions } from './harvest.js';

const USAGE = [
  'usage: main.js --base-url URL [--events FILE] [--metadata-prefix oai_dc] [--keep-alive]',
  `  [--connect-timeout-ms ${HARVEST_DEFAULTS.connectTimeoutMs}] [--read-timeout-ms ${HARVEST_DEFAULTS.readTimeoutMs}]`,
  `  [--retries ${HARVEST_DEFAULTS.retries}] [--backoff-ms ${HARVEST_DEFAULTS.backoffMs}] [--max-duration-ms 0 (none)]`,
  '  [--local-address IP] [--user-agent STR] [--quiet]',
].join('\n');

class UsageError extends Error {}
class HelpRequested extends Error {}

const INT_OPTS = {
  '--connect-timeout-ms': 'connectTimeoutMs',
  '--read-timeout-ms': 'readTimeoutMs',
  '--retries': 'retries',
  '--backoff-ms': 'backoffMs',
  '--max-duration-ms': 'maxDurationMs',
} as const;
const STR_OPTS = {
  '--base-url': 'baseUrl',
  '--metadata-prefix': 'metadataPrefix',
  '--local-address': 'localAddress',
  '--user-agent': 'userAgent',
} as const;

export function parseHarvestArgs(argv: string[]): { options: HarvestOptions; events: string | null; quiet: boolean } {
  const o: Partial<Record<string, unknown>> = {};
  let events: string | null = null;
  let quiet = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') throw new HelpRequested();
    if (arg === '--keep-alive') {
      o.keepAlive = true;
      continue;
    }
    if (arg === '--no-keep-alive') {
      o.keepAlive = false;
      continue;
    }
    if (arg === '--quiet') {
      quiet = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!(name in INT_OPTS) && !(name in STR_OPTS) && name !== '--events') throw new UsageError(`unknown option ${name}`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`option ${name} needs a value`);
    if (name === '--events') events = value;
    else if (name in INT_OPTS) {
      if (!/^\d+$/.test(value)) throw new UsageError(`option ${name} needs a whole number, got ${JSON.stringify(value)}`);
      o[INT_OPTS[name as keyof typeof INT_OPTS]] = Number(value);
    } else o[STR_OPTS[name as keyof typeof STR_OPTS]] = value;
  }
  if (typeof o.baseUrl !== 'string') throw new UsageError('option --base-url URL is required');
  return { options: o as unknown as HarvestOptions, events, quiet };
}

function line(e: HarvestEvent): string {
  if (e.type === 'summary') {
    return `summary: ${e.records}/${e.expectedRecords ?? '?'} records, ${e.pages} pages, ${e.attempts.total} attempts ` +
      `(${e.attempts.timedOut} timed out, ${e.attempts.retries} retries), ${Math.round(e.durationMs)} ms, ${e.stoppedBecause}`;
  }
  return `page ${e.page} attempt ${e.attempt} port ${e.localPort ?? '-'}: ${e.outcome}` +
    (e.outcome === 'ok' ? ` ${e.records} records ${e.bytes} B in ${Math.round(e.totalMs)} ms` : ` after ${Math.round(e.totalMs)} ms: ${e.error}`);
}

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Aborts the harvest (main.ts wires SIGTERM/SIGINT to it). */
  signal?: AbortSignal;
}

/** Run the harvester CLI; resolves to the exit code (0 complete, 1 incomplete, 2 usage). */
export async function runHarvestCli(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseHarvestArgs(argv);
    validateHarvestOptions(parsed.options);
  } catch (err) {
    if (err instanceof HelpRequested) {
      io.stdout(USAGE + '\n');
      return 0;
    }
    if (err instanceof UsageError || err instanceof CtlabError) {
      io.stderr(`ctlab-harvester: ${err.message} (try --help)\n`);
      return 2;
    }
    throw err;
  }
  let fd: number | null = null;
  if (parsed.events) {
    try {
      fd = openSync(parsed.events, 'w');
    } catch (err) {
      io.stderr(`ctlab-harvester: cannot write --events ${parsed.events}: ${(err as Error).message}\n`);
      return 2;
    }
  }
  const quiet = parsed.quiet;
  const summary = await harvest({
    ...parsed.options,
    signal: io.signal,
    onEvent(e) {
      // Synchronous write: the line is in the file even if the process is killed right after.
      if (fd !== null) writeSync(fd, JSON.stringify(e) + '\n');
      if (!quiet) io.stderr(line(e) + '\n');
    },
  });
  if (fd !== null) closeSync(fd);
  io.stdout(JSON.stringify(summary) + '\n');
  return summary.complete ? 0 : 1;
}
