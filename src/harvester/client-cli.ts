// What the harvester's two command lines (cli.ts for a harvest, requests-cli.ts for the http,
// upload and bulk workloads) do alike, written once: usage errors to exit 2, the --events file
// (one JSON line per event, written synchronously as each happens), a progress line per event on
// stderr unless --quiet, the summary as JSON on stdout, and exit 0 complete / 1 incomplete.
import { closeSync, openSync, writeSync } from 'node:fs';
import { CtlabError } from '../errors.js';

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Aborts the harvest or workload (main.ts wires SIGTERM/SIGINT to it). */
  signal?: AbortSignal;
}

export interface ClientCli<P extends { events: string | null; quiet: boolean }, E> {
  usage: string;
  /** The command line → what to run, or null when --help was asked. Throws CtlabError('SCENARIO'). */
  parse: () => P | null;
  /** Runs it, calling onEvent for every event (the summary too); resolves to the summary. */
  run: (parsed: P, onEvent: (e: E) => void) => Promise<{ complete: boolean }>;
  /** The progress line for one event. */
  line: (e: E) => string;
}

/** Run a client's command line; resolves to the exit code (0 complete, 1 incomplete, 2 usage). */
export async function runClientCli<P extends { events: string | null; quiet: boolean }, E>(
  io: CliIo,
  cli: ClientCli<P, E>,
): Promise<number> {
  let parsed: P | null;
  try {
    parsed = cli.parse();
    if (parsed === null) {
      io.stdout(`${cli.usage}\n`);
      return 0;
    }
  } catch (err) {
    if (err instanceof CtlabError) {
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
  const summary = await cli.run(parsed, (e) => {
    // Synchronous write: the line is in the file even if the process is killed right after.
    if (fd !== null) writeSync(fd, `${JSON.stringify(e)}\n`);
    if (!quiet) io.stderr(`${cli.line(e)}\n`);
  });
  if (fd !== null) closeSync(fd);
  io.stdout(`${JSON.stringify(summary)}\n`);
  return summary.complete ? 0 : 1;
}
