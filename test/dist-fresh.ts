// Vitest global setup: refuse to test a dist/ built from other sources than the ones checked out.
// Tests spawn the compiled CLI and lab programs from dist/, so a stale build would test old code.
// The build (npm run build, which npm test runs first) records the sha256 of its sources;
// scripts/build-stamp.mjs compares them with the files now.
import { fileURLToPath } from 'node:url';
import { staleSources } from '../scripts/build-stamp.mjs';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const stale = staleSources(root);
  if (stale.length === 0) return;
  const shown = stale.slice(0, 5).join('; ') + (stale.length > 5 ? `; and ${stale.length - 5} more` : '');
  throw new Error(`dist/ is stale: ${shown}. Run \`npm run build\` (\`npm test\` builds first).`);
}
