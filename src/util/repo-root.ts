// Where the ctlab repository (or an installed copy of it) is: the nearest ancestor folder, from
// this module's own location, whose package.json is named "ctlab".
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CtlabError } from '../errors.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The nearest ancestor of `from` (default: this module) with a package.json named ctlab, or undefined. */
export function findRepoRoot(from = HERE): string | undefined {
  let dir = from;
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if (JSON.parse(readFileSync(pj, 'utf8')).name === 'ctlab') return dir;
      } catch {
        /* not JSON: keep looking */
      }
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** The repository root; a HOST error when this code does not run from inside a ctlab checkout or package. */
export function repoRoot(from = HERE): string {
  const root = findRepoRoot(from);
  if (root === undefined)
    throw new CtlabError('HOST', `cannot find the ctlab repository root (a package.json named ctlab) above ${from}`);
  return root;
}
