// Run one kernel's VM by hand (`ctlab run --kernel` uses src/vm/index.ts directly):
//   node dist/src/vm/cli.js <kernel spec> [--smoke] [--out DIR] [--timeout-s N] [<scenario> [-- ctlab run args...]]
// Prints the timings as JSON on stdout; progress on stderr.
import { resolve } from 'node:path';
import { CtlabError } from '../errors.js';
import { resolveKernel } from './kernel.js';
import { runScenarioInVm } from './run.js';

async function main(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const args = dash >= 0 ? argv.slice(dash + 1) : [];
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const flag = (n: string) => {
    const i = own.indexOf(n);
    if (i < 0) return undefined;
    const v = own[i + 1];
    own.splice(i, 2);
    return v;
  };
  const out = flag('--out');
  const timeout = flag('--timeout-s');
  const smoke = own.includes('--smoke');
  const pos = own.filter((a) => a !== '--smoke');
  const [spec, scenario] = pos;
  if (!spec || (!smoke && !scenario)) {
    process.stderr.write(
      'usage: cli.js <5.10|6.1|6.12|path:IMAGE[,MODULES]> [--smoke] [--out DIR] [--timeout-s N] [<scenario.yaml> [-- args]]\n',
    );
    return 2;
  }
  const t0 = Date.now();
  const log = (m: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m}\n`);
  const kernel = await resolveKernel(spec, log);
  const resolveMs = Date.now() - t0;
  const r = await runScenarioInVm({
    kernel,
    scenarioFile: scenario ? resolve(scenario) : '',
    args,
    job: smoke ? 'smoke' : 'run',
    outDir: resolve(out ?? `runs/vm-${kernel.release}-${Date.now().toString(36)}`),
    progress: log,
    timeoutMs: timeout ? Number(timeout) * 1000 : undefined,
  });
  process.stdout.write(`${JSON.stringify({ spec, resolveMs, ...r }, null, 2)}\n`);
  return r.exitCode === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (c) => {
    process.exitCode = c;
  },
  (e) => {
    process.stderr.write(e instanceof CtlabError ? `${e.format()}\n` : `${(e as Error)?.stack ?? e}\n`);
    process.exitCode = 3;
  },
);
