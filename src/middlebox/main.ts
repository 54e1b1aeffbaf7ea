// The middlebox process: node dist/src/middlebox/main.js --config /etc/ctlab/middlebox.json
// Binds the NFQUEUE queue, prints one `ready` line on stdout, runs until SIGTERM/SIGINT
// (then writes the counters and flow records and exits 0). Any error: counters are written
// with the error, one line goes to stderr, exit code 1. The queue has no bypass, so when
// this process is gone forwarded TCP stops (fail closed), loudly.
// Node built-ins only (runs in the image on Node 18).

import { readFileSync } from 'node:fs';
import { MiddleboxEngine } from './engine.js';
import { ConfigError, parseProcessConfigText } from './process-config.js';
import { startMiddlebox, type RunningMiddlebox } from './runner.js';

const USAGE = 'usage: node dist/src/middlebox/main.js --config FILE';

function configPath(argv: string[]): string {
  const i = argv.indexOf('--config');
  const v = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--config='))?.slice('--config='.length);
  if (!v) throw new ConfigError(`middlebox: --config FILE is required (${USAGE})`);
  return v;
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
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`middlebox: cannot read config ${file}: ${(err as Error).message}`);
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
