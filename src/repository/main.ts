#!/usr/bin/env node
// CLI: write the OAI-PMH repository as static files for nginx.
//   node dist/bundle/repository.mjs --out /srv/oai --records 3812 --page-size 100 --record-bytes 3000 --seed 1
// (this file bundled with its imports by scripts/bundle.mjs; it runs in the lab with no node_modules).
// Prints one JSON line (pages, bytes, generation time) on stdout. Exit 0 ok, 1 failure, 2 usage.

import { runGeneratorCli } from './cli.js';

process.exitCode = runGeneratorCli(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
});
