// The generator's command line, as a function (tests call it; main.ts is the process wrapper,
// bundled as dist/bundle/repository.mjs).
import { performance } from 'node:perf_hooks';
import { CtlabError } from '../errors.js';
import { parseOptions, wholeNumber } from '../util/args.js';
import { DEFAULT_BASE_URL, type GeneratedRepository, generateRepository, writeRepository } from './generate.js';

const USAGE =
  'usage: repository.mjs --out DIR [--records 3812] [--page-size 100] [--record-bytes 3000] [--seed 1] [--base-url URL]';

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  out: { type: 'string' },
  records: { type: 'string' },
  'page-size': { type: 'string' },
  'record-bytes': { type: 'string' },
  seed: { type: 'string' },
  'base-url': { type: 'string' },
} as const;

/** The command line → generator options, or 'help'. Throws CtlabError('SCENARIO'). */
function parse(argv: string[]) {
  const v = parseOptions(argv, OPTIONS);
  if (v.help) return 'help' as const;
  const int = (name: 'records' | 'page-size' | 'record-bytes' | 'seed', dflt: number) =>
    v[name] === undefined ? dflt : wholeNumber(name, v[name]);
  const o = {
    out: v.out ?? '',
    records: int('records', 3812),
    pageSize: int('page-size', 100),
    recordBytes: int('record-bytes', 3000),
    seed: int('seed', 1),
    baseUrl: v['base-url'] ?? DEFAULT_BASE_URL,
  };
  if (!o.out) throw new CtlabError('SCENARIO', 'option --out DIR is required');
  return o;
}

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/** Run the generator CLI; returns the exit code (0 ok, 1 write failure, 2 usage). */
export function runGeneratorCli(argv: string[], io: CliIo): number {
  let opts: ReturnType<typeof parse>;
  try {
    opts = parse(argv);
  } catch (err) {
    if (err instanceof CtlabError) {
      io.stderr(`ctlab-oai-repository: ${err.message} (try --help)\n`);
      return 2;
    }
    throw err;
  }
  if (opts === 'help') {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  const t0 = performance.now();
  let repo: GeneratedRepository;
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
      io.stderr(`${err.format()}\n`);
      return 1;
    }
    throw err;
  }
  const t2 = performance.now();
  const m = repo.manifest;
  io.stdout(
    `${JSON.stringify({
      out: opts.out,
      records: m.completeListSize,
      pages: m.pages.length,
      totalBytes: m.totalBytes,
      meanRecordBytes: m.meanRecordBytes,
      minPageBytes: Math.min(...m.pages.map((p) => p.bytes)),
      maxPageBytes: Math.max(...m.pages.map((p) => p.bytes)),
      generateMs: Math.round((t1 - t0) * 10) / 10,
      writeMs: Math.round((t2 - t1) * 10) / 10,
    })}\n`,
  );
  return 0;
}
