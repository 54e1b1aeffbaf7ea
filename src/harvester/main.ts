#!/usr/bin/env node
// CLI: harvest an OAI-PMH repository, writing one JSON line per attempt (and the summary) to
// --events as each attempt ends, and the summary as JSON on stdout.
//   node dist/bundle/harvester.mjs --base-url http://198.18.2.2/oai --events /out/events.jsonl
// With --workload JSON it runs the http, upload or bulk workload instead (requests-cli.ts):
//   node dist/bundle/harvester.mjs --workload '{"kind":"upload",...}' --base-url http://198.18.2.2
// (this file bundled with its imports by scripts/bundle.mjs; it runs in the lab with no node_modules).
// Exit 0: complete; 1: incomplete (or stopped by SIGTERM/SIGINT: the summary is still written); 2: usage error.

import { runHarvestCli } from './cli.js';
import { isRequestsArgv, runRequestsCli } from './requests-cli.js';

const ac = new AbortController();
const stop = (sig: string) => ac.abort(new Error(`stopped by ${sig}`));
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));

const argv = process.argv.slice(2);
(isRequestsArgv(argv) ? runRequestsCli : runHarvestCli)(argv, {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  signal: ac.signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`ctlab-harvester: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
