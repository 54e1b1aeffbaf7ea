#!/usr/bin/env node
// CLI: the HTTP service of the http, upload, bulk and command workloads (src/service/server.ts).
//   node dist/bundle/service.mjs --port 80 --access-log /run/ctlab/service-access.log
// Prints "listening on HOST:PORT" once bound (the lab waits for that line), then serves until
// SIGTERM/SIGINT. Exit 0 after a signal, 1 when it cannot listen, 2 usage.
// (this file bundled with its imports by scripts/bundle.mjs; it runs in the lab with no node_modules).
import { openSync } from 'node:fs';
import { CtlabError } from '../errors.js';
import { parseOptions, wholeNumber } from '../util/args.js';
import { createService, listen } from './server.js';

const USAGE = 'usage: service.mjs [--port 80] [--host 0.0.0.0] [--access-log FILE]';

async function main(argv: string[]): Promise<number> {
  let port = 80;
  let host = '0.0.0.0';
  let logFd: number | undefined;
  try {
    const v = parseOptions(argv, {
      help: { type: 'boolean', short: 'h' },
      port: { type: 'string' },
      host: { type: 'string' },
      'access-log': { type: 'string' },
    });
    if (v.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (v.port !== undefined) port = wholeNumber('port', v.port);
    if (port < 1 || port > 65535) throw new CtlabError('SCENARIO', `--port must be 1-65535, got ${port}`);
    if (v.host !== undefined) host = v.host;
    if (v['access-log'] !== undefined) logFd = openSync(v['access-log'], 'a');
  } catch (err) {
    process.stderr.write(`ctlab-service: ${(err as Error).message} (try --help)\n`);
    return 2;
  }
  const server = createService({ port, host, accessLogFd: logFd });
  try {
    await listen(server, { port, host });
  } catch (err) {
    process.stderr.write(`ctlab-service: cannot listen on ${host}:${port}: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`listening on ${host}:${port}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      server.close();
      server.closeAllConnections?.();
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`ctlab-service: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
