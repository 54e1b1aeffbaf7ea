#!/usr/bin/env node
// Entry point: the compiled CLI lives in dist/ (npm run build).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('ctlab: not built yet. Run `npm run build` (or `bash scripts/setup.sh`) first.');
  process.exit(2);
}
const { main: run } = await import(main.href);
await run();
