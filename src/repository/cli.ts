// The generator's command line, as a function (tests call it; main.ts is the process wrapper).
import { performance } from 'node:perf_hooks';
import { CtlabError } from '../errors.js';
import { DEFAULT_BASE_URL, generateRepository, writeRepository } from './generate.js';

const USAGE =
  'usage: main.js --out DIR [--records 3812] [--page-size 100] [--record-bytes 3000] [--seed 1] [--base-url URL]';

class UsageError extends Error {}
class HelpRequested extends Error {}

function parse(argv: string[]) {
  const o = { out: '', records: 3812, pageSize: 100, recordBytes: 3000, seed: 1, baseUrl: DEFAULT_BASE_URL };
  const ints: Record<string, 'records' | 'pageSize' | 'recordBytes' | 'seed'> = {
    '--records': 'records',
    '--page-size': 'pageSize',
    '--record-bytes': 'recordBytes',
    '--seed': 'seed',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') throw new HelpRequested();
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`option ${name} needs a value`);
    if (name === '--out') o.out = value;
    else if (name === '--base-url') o.baseUrl = value;
    else if (name in ints) {
      if (!/^\d+$/.test(value)) throw new UsageError(`option ${name} needs a whole number, got ${JSON.stringify(value)}`);
      o[ints[name]!] = Number(value);
    } else throw new UsageError(`unknown option ${name}`);
  }
  if (!o.out) throw new UsageError('option --out DIR is required');
  return o;
}

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/** Run the generator CLI; returns the exit code (0 ok, 1 write failure, 2 usage). */
export function runGeneratorCli(argv: string[], io: CliIo): number {
  let opts;
  try {
    opts = parse(argv);
  } catch (err) {
    if (err instanceof HelpRequested) {
      io.stdout(USAGE + '\n');
      return 0;
    }
    if (err instanceof UsageError) {
      io.stderr(`ctlab-oai-repository: ${err.message} (try --help)\n`);
      return 2;
    }
    throw err;
  }
  const t0 = performance.now();
  let repo;
  try {
    repo = generateRepository(opts);
  } catch (err) {
    if (err instanceof CtlabError) {
      io.stderr(`ctlab-oai-repository: ${err.message}${err.hint ? ` (${err.hint})` : ''}\n`);
      return 2;
    }
    throw err;
  }
  const t1 = performance.now();
  try {
    writeRepository(opts.out, repo);
  } catch (err) {
    if (err instanceof CtlabError) {
      io.stderr(err.format() + '\n');
      return 1;
    }
    throw err;
  }
  const t2 = performance.now();
  const m = repo.manifest;
  io.stdout(
    JSON.stringify({
      out: opts.out,
      records: m.completeListSize,
      pages: m.pages.length,
      totalBytes: m.totalBytes,
      meanRecordBytes: m.meanRecordBytes,
      minPageBytes: Math.min(...m.pages.map((p) => p.bytes)),
      maxPageBytes: Math.max(...m.pages.map((p) => p.bytes)),
      generateMs: Math.round((t1 - t0) * 10) / 10,
      writeMs: Math.round((t2 - t1) * 10) / 10,
    }) + '\n',
  );
  return 0;
}
