// A user's own firewall ruleset (`server.firewall.rules` or `client.firewall.rules`): read it, tell an
// `iptables-save` file from an `nft -f` ruleset, find where its nft base chains sit relative to
// ctlab's counting chains, and check that it loads (in a throwaway network namespace) before
// anything starts. Pure reading and checking; the lab commands are in src/topology/firewall.ts.
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { CtlabError } from '../errors.js';

export type RulesFormat = 'iptables' | 'nft';

/** A ruleset as the model carries it: its text travels into the node, so nothing reads the file later. */
export interface RulesModel {
  /** The path as given in the scenario (relative to the scenario file). */
  given: string;
  /** Absolute path on the machine that loaded the scenario. */
  path: string;
  format: RulesFormat;
  text: string;
}

/**
 * ctlab's counting chains (src/topology/firewall.ts), per hook: one just after conntrack
 * (NF_IP_PRI_CONNTRACK = -200: a packet's INVALID state is known only after it) and one after
 * every filtering table (security 50, srcnat 100, helpers 300), before conntrack's confirm.
 */
export const COUNT_PRIORITY = { before: -199, after: 1000 } as const;

/** nft's named priorities for the ip/ip6/inet families (nft(8), "PRIORITY"). */
const NAMED_PRIORITY: Record<string, number> = {
  raw: -300,
  mangle: -150,
  dstnat: -100,
  filter: 0,
  security: 50,
  srcnat: 100,
};

/** A ruleset's text → its format: `iptables-save` output has `*table` headers and COMMIT. */
export function detectFormat(text: string): RulesFormat {
  return /^\s*\*(filter|nat|mangle|raw|security)\s*$/m.test(text) && /^\s*COMMIT\s*$/m.test(text) ? 'iptables' : 'nft';
}

/** Read `given` relative to the scenario's directory; the error message names the file. */
export function readRules(given: string, scenarioDir: string, format?: RulesFormat): RulesModel | string {
  const path = given.startsWith('/') ? given : `${scenarioDir}/${given}`;
  try {
    if (!statSync(path).isFile()) return `${given} is not a file`;
    const text = readFileSync(path, 'utf8');
    return { given, path, format: format ?? detectFormat(text), text };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return `cannot read ${given} (${path}): ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`;
  }
}

export interface BaseChain {
  table: string;
  chain: string;
  hook: string;
  priority: number;
  /** 1-based line of the chain's `type ... hook ... priority` statement. */
  line: number;
}

/** The base chains of an nft ruleset with their hooks and numeric priorities. */
export function nftBaseChains(text: string): BaseChain[] {
  const out: BaseChain[] = [];
  let table = '';
  let chain = '';
  text.split('\n').forEach((raw, i) => {
    const l = raw.replace(/#.*/, '');
    const t = /^\s*(?:add\s+)?table\s+(?:\w+\s+)?([\w.-]+)/.exec(l);
    if (t) table = t[1]!;
    const c = /^\s*(?:add\s+)?chain\s+(?:\w+\s+[\w.-]+\s+)?([\w.-]+)/.exec(l);
    if (c) chain = c[1]!;
    const h = /\bhook\s+(\w+)\s+(?:device\s+\S+\s+)?priority\s+(-?\d+|[a-z]+)(?:\s*([+-])\s*(\d+))?/.exec(l);
    if (!h) return;
    const base = /^-?\d+$/.test(h[2]!) ? Number(h[2]) : NAMED_PRIORITY[h[2]!];
    if (base === undefined) return;
    const off = h[3] ? (h[3] === '-' ? -1 : 1) * Number(h[4]) : 0;
    out.push({ table, chain, hook: h[1]!, priority: base + off, line: i + 1 });
  });
  return out;
}

/**
 * Chains the counting chains cannot bracket: at input/forward/output, a chain after conntrack
 * (> -200) must run strictly between COUNT_PRIORITY.before and .after. A chain at or before
 * -200 runs before conntrack has judged the packet, so it cannot act on INVALID; it is fine.
 */
export function unbracketed(chains: BaseChain[]): BaseChain[] {
  return chains.filter(
    (c) =>
      ['input', 'forward', 'output'].includes(c.hook) &&
      c.priority > -200 &&
      (c.priority <= COUNT_PRIORITY.before || c.priority >= COUNT_PRIORITY.after),
  );
}

/**
 * What the file alone shows to be wrong, one message per problem naming its line: an nft
 * `include` (only the file itself travels into the node, and it is test-loaded as root here: an
 * include would read files of this machine and echo them in errors), and base chains the
 * counting chains cannot bracket.
 */
export function rulesProblems(r: RulesModel): string[] {
  if (r.format !== 'nft') return [];
  const out: string[] = [];
  const inc = r.text.split('\n').findIndex((l) => /^\s*include\s/.test(l));
  if (inc >= 0) out.push(`${r.given}:${inc + 1}: include is not supported: put the included rules in the file itself`);
  for (const c of unbracketed(nftBaseChains(r.text)))
    out.push(
      `${r.given}:${c.line}: chain ${c.table}/${c.chain} (hook ${c.hook}, priority ${c.priority}) is not between ctlab's INVALID-counting chains (priorities ${COUNT_PRIORITY.before} and ${COUNT_PRIORITY.after}): give it a priority in between`,
    );
  return out;
}

/** The program that loads a ruleset of `format` with the firewall `backend`. */
export function loader(format: RulesFormat, backend: 'nft' | 'legacy'): string {
  if (format === 'nft') return 'nft';
  return backend === 'legacy' ? 'iptables-legacy-restore' : 'iptables-nft-restore';
}

/** The loader's command for `file`, for real (`check` false) or as a dry run. */
export function loadCommand(format: RulesFormat, backend: 'nft' | 'legacy', file: string, check = false): string[] {
  const prog = loader(format, backend);
  if (format === 'nft') return check ? [prog, '-c', '-f', file] : [prog, '-f', file];
  return check ? [prog, '--test', file] : [prog, file];
}

/**
 * The tool's own complaint → one line naming the file and its line. iptables-restore says
 * "Error occurred at line: N" after the reason; nft says "FILE:LINE:COL-COL: Error: ...".
 */
export function loadError(r: Pick<RulesModel, 'given'> & Partial<RulesModel>, output: string, nft = 'nft -c'): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const nftLine = lines.map((l) => /^(.*?):(\d+):\d+(?:-\d+)?:\s*Error:\s*(.*)$/.exec(l)).find((m) => m);
  if (nftLine) return `${r.given}:${nftLine[2]}: ${nftLine[3]} (${nft})`;
  const at = /Error occurred at line: (\d+)/.exec(output);
  const why = lines.find((l) => !/^Error occurred at line|^Try `/.test(l)) ?? 'did not load';
  return `${r.given}${at ? `:${at[1]}` : ''}: ${why}`;
}

const run = promisify(execFile);

/** What checkRulesLoad found: ok, or skipped and why (reported, never silent). */
export type LoadCheck = { checked: true } | { checked: false; why: string };

/**
 * Load the ruleset for real in a throwaway network namespace (`unshare -n`, root only), with
 * the loader's dry-run flag: a file that does not load is a CtlabError SCENARIO (exit 2) whose
 * message names the file, the line and the tool's words. Without root nothing can be checked.
 */
export async function checkRulesLoad(
  r: RulesModel,
  backend: 'nft' | 'legacy',
  field = 'server.firewall.rules',
): Promise<LoadCheck> {
  if (process.getuid?.() !== 0)
    return { checked: false, why: `${field} (${r.given}) was not test-loaded: that needs root (unshare -n)` };
  const cmd = ['unshare', '-n', ...loadCommand(r.format, backend, r.path, true)];
  try {
    await run(cmd[0]!, cmd.slice(1), { timeout: 30_000 });
    return { checked: true };
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string; stdout?: string };
    if (err.code === 'ENOENT')
      return { checked: false, why: `${field} (${r.given}) was not test-loaded: unshare is not installed` };
    const out = `${err.stderr ?? ''}\n${err.stdout ?? ''}`;
    if (/command not found|No such file or directory.*(nft|restore)|exec.*failed/i.test(out) && !/Error/.test(out))
      return { checked: false, why: `${field} (${r.given}) was not test-loaded: ${out.trim().split('\n')[0]}` };
    // One line: the command is implied by the tool named in the message.
    throw new CtlabError('SCENARIO', `${field}: ${loadError(r, out)}`);
  }
}
