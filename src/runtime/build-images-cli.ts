// `node dist/src/runtime/build-images-cli.js [--verbose] [--force] [--no-cache] [--role R]...`
// Builds (or finds cached) the lab images and prints their tags. To be folded into `ctlab images`.

import { CtlabError } from '../errors.js';
import { buildLabImages, ROLES } from './images.js';
import type { Role } from './types.js';

async function main(argv: string[]): Promise<void> {
  const roles: Role[] = [];
  let verbose = false;
  let force = false;
  let noCache = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!; // i < argv.length
    if (a === '--verbose' || a === '-v') verbose = true;
    else if (a === '--force') force = true;
    else if (a === '--no-cache') noCache = true;
    else if (a === '--role') {
      const r = argv[++i] as Role;
      if (!ROLES.includes(r))
        throw new CtlabError('SCENARIO', `unknown role ${r}`, { hint: `one of ${ROLES.join(', ')}` });
      roles.push(r);
    } else
      throw new CtlabError('SCENARIO', `unknown option ${a}`, {
        hint: 'options: --verbose, --force, --no-cache, --role server|middlebox|harvester',
      });
  }
  const res = await buildLabImages({ verbose, force, noCache, roles: roles.length ? roles : undefined });
  for (const [role, tag] of Object.entries(res.images)) {
    console.log(`${role.padEnd(10)} ${tag}${res.built.includes(tag) ? '  (built)' : '  (cached)'}`);
  }
  console.log(`images ready in ${(res.durationMs / 1000).toFixed(1)} s (log: ${res.logFile})`);
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err instanceof CtlabError ? err.format() : err);
  process.exit(1);
});
