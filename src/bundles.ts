// The programs that run inside the lab (middlebox, harvester, repository, service): each is bundled by
// scripts/bundle.mjs (part of `npm run build`) into one ESM file with zod and the project's own
// modules, so the images and the VM guest run it with no node_modules. Paths are relative to the
// project root, and to /opt/ctlab inside the lab (the images and the netns runtime's staged copy).
export const BUNDLE_DIR = 'dist/bundle';

export const BUNDLES = {
  middlebox: { entry: 'src/middlebox/main.ts', out: `${BUNDLE_DIR}/middlebox.mjs` },
  harvester: { entry: 'src/harvester/main.ts', out: `${BUNDLE_DIR}/harvester.mjs` },
  repository: { entry: 'src/repository/main.ts', out: `${BUNDLE_DIR}/repository.mjs` },
  service: { entry: 'src/service/main.ts', out: `${BUNDLE_DIR}/service.mjs` },
} as const;
