// The middlebox process (bundled as dist/bundle/middlebox.mjs):
//   node /opt/ctlab/dist/bundle/middlebox.mjs --config /etc/ctlab/middlebox.json
// Binds the NFQUEUE queue, prints one `ready` line on stdout, runs until SIGTERM/SIGINT
// (then writes the counters and flow records and exits 0). Any error (a bad command line or
// config too): counters are written with the error if it was running, one line goes to stderr,
// exit code 1. The queue has no bypass, so when this process is gone forwarded TCP stops (fail
// closed), loudly. The NFQUEUE addon is loaded by path at run time (src/middlebox/nfqueue.ts).

import { readFileSync } from 'node:fs';
import { CtlabError } from '../errors.js';
import { parseOptions } from '../util/args.js';
import { MiddleboxEngine } from './engine.js';
import { parseProcessConfigText } from './process-config.js';
import { startMiddlebox, type RunningMiddlebox } from './runner.js';

const USAGE = 'usage: middlebox.mjs --config FILE';

/** The config file's path, or null for --help. */
function configPath(argv: string[]): string | null {
  const v = parseOptions(argv, { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (v.help) return null;
  if (!v.config) throw new CtlabError('SCENARIO', `--config FILE is required (${USAGE})`);
  return v.config;
}

function main(): void {
  let running: RunningMiddlebox | undefined;
  const die = (err: unknown): void => {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`middlebox: fatal: ${msg.split('\n')[0]}\n`);
    try {
      running?.stop(msg);
    } catch (e) {
      process.stderr.write(`middlebox: writing counters failed too: ${(e as Error).message}\n`);
    }
    process.exit(1);
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);

  try {
    const file = configPath(process.argv.slice(2));
    if (file === null) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new CtlabError('SCENARIO', `cannot read middlebox config ${file}: ${(err as Error).message}`);
    }
    const cfg = parseProcessConfigText(text, file);
    running = startMiddlebox(cfg, (c) => new MiddleboxEngine(c));
  } catch (err) {
    die(err);
    return;
  }
  const stop = (sig: string) => {
    try {
      running?.stop();
    } catch (err) {
      die(err);
      return;
    }
    process.stderr.write(`middlebox: ${sig}: stopped\n`);
    process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.stdout.write('ready\n');
}

main();
