// The build's record of what it compiled: `npm run build` (after tsc succeeds) writes the sha256
// of every source the build reads (src/**/*.ts, bench/**/*.ts, tsconfig.json) to
// dist/.build-sources.json; the tests' global setup (test/dist-fresh.ts) recomputes them and
// refuses to run against a dist/ built from other sources. Plain JavaScript: it runs before
// anything is compiled.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const STAMP = join('dist', '.build-sources.json');

/** sha256 of each source of the build, by repository-relative '/'-separated path, sorted. */
export function sourceHashes(root) {
  const files = ['tsconfig.json'];
  const walk = (dir) => {
    if (!existsSync(join(root, dir))) return;
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) files.push(p.split(sep).join('/'));
    }
  };
  walk('src');
  walk('bench');
  files.sort();
  return Object.fromEntries(
    files.map((f) => [
      f,
      createHash('sha256')
        .update(readFileSync(join(root, f)))
        .digest('hex'),
    ]),
  );
}

/** What differs between the sources now and the ones dist/ was built from; [] when dist/ is current. */
export function staleSources(root) {
  const stampPath = join(root, STAMP);
  if (!existsSync(stampPath)) return [`${STAMP} is missing (dist/ not built by npm run build)`];
  const built = JSON.parse(readFileSync(stampPath, 'utf8')).sources ?? {};
  const now = sourceHashes(root);
  const out = [];
  for (const [f, h] of Object.entries(now)) {
    if (!(f in built)) out.push(`${f} is new`);
    else if (built[f] !== h) out.push(`${f} changed`);
  }
  for (const f of Object.keys(built)) if (!(f in now)) out.push(`${f} was removed`);
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  writeFileSync(join(root, STAMP), `${JSON.stringify({ sources: sourceHashes(root) }, null, 1)}\n`);
}
