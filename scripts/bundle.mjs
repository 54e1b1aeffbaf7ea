#!/usr/bin/env node
// Bundles the programs that run inside the lab (middlebox, harvester, repository: src/bundles.ts
// names them) into one ESM file each under dist/bundle/, with zod and the project's own modules,
// so the images and the VM guest need no node_modules. Run by `npm run build` after tsc (it reads
// the compiled dist/src/bundles.js). Target: Node 18, the lab images' Debian nodejs. The NFQUEUE
// addon (nfqueue.node) stays outside: src/middlebox/nfqueue.ts loads it by path at run time.
// Any esbuild warning fails the build. Prints each bundle's size and the time taken.
import { build } from 'esbuild';
import { rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { BUNDLES, BUNDLE_DIR } = await import(pathToFileURL(join(root, 'dist', 'src', 'bundles.js')).href);

const t0 = performance.now();
rmSync(join(root, BUNDLE_DIR), { recursive: true, force: true });
const results = await Promise.all(
  Object.entries(BUNDLES).map(async ([name, b]) => {
    const r = await build({
      absWorkingDir: root,
      entryPoints: [b.entry],
      outfile: b.out,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node18',
      external: ['*.node'],
      legalComments: 'none',
      logLevel: 'silent',
      metafile: true,
    });
    if (r.errors.length || r.warnings.length) {
      const all = [...r.errors, ...r.warnings].map(
        (m) => `${m.location ? `${m.location.file}:${m.location.line}: ` : ''}${m.text}`,
      );
      throw new Error(`bundling ${name} (${b.entry}): ${all.join('; ')}`);
    }
    const inputs = Object.keys(r.metafile.inputs);
    return {
      name,
      out: b.out,
      bytes: statSync(join(root, b.out)).size,
      inputs: inputs.length,
      packages: [
        ...new Set(
          inputs.filter((i) => i.includes('node_modules/')).map((i) => i.split('node_modules/').pop().split('/')[0]),
        ),
      ],
    };
  }),
);
for (const r of results) {
  console.log(
    `bundle: ${r.out} ${(r.bytes / 1024).toFixed(1)} KiB (${r.inputs} modules${r.packages.length ? `; packages: ${r.packages.join(', ')}` : ''})`,
  );
}
console.log(`bundle: ${results.length} bundles in ${Math.round(performance.now() - t0)} ms`);
