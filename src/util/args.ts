// Command lines of the programs that run inside the lab (middlebox, harvester, repository):
// node:util parseArgs, with every usage mistake turned into one CtlabError('SCENARIO') line.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CtlabError } from '../errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;
/** parseArgs' values for these options (named, so the type declarations can name it). */
type Values<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>
>['values'];

/** `--name value`, `--name=value` and flags; no positionals. Throws CtlabError on any mistake. */
export function parseOptions<O extends Options>(argv: string[], options: O): Values<O> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_'))
      throw new CtlabError('SCENARIO', (err as Error).message.split('\n')[0]!);
    throw err;
  }
}

/** A whole number given as an option's value (digits only). */
export function wholeNumber(option: string, value: string): number {
  if (!/^\d+$/.test(value))
    throw new CtlabError('SCENARIO', `option --${option} needs a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}
