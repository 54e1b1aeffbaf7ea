// The VM runner's public API (see src/vm/README.md).
export { resolveKernel, modulesCpio, bzImageRelease, type KernelImage } from './kernel.js';
export { runScenarioInVm, readSmoke, type VmRunOptions, type VmRunResult } from './run.js';
export { parseKernelSpec, DEBIAN_SERIES, type KernelSpec } from './spec.js';
export { cacheRoot } from './cache.js';
