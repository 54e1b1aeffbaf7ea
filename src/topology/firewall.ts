// A node's firewall as lab commands: the server's own (lab/server/firewall.sh) or the user's
// ruleset (`server.firewall.rules`, `client.firewall.rules`) plus ctlab's counting table that
// brackets it. Pure.
//
// Counting whatever a ruleset does: table inet ctlab_count has, per hook (input, forward,
// output), a base chain just after conntrack (priority -199) and one after every filtering
// chain (priority 1000), each only counting `ct state invalid` into a named counter. A packet
// that the ruleset drops is seen by the first and not by the second: drops = before - after.
// This works for nft rulesets and for iptables (nft or legacy backend: legacy's tables hook
// netfilter at the same fixed priorities, raw -300 ... security 50).
import { CtlabError } from '../errors.js';
import type { InvalidCount } from '../result/types.js';
import { COUNT_PRIORITY, loadCommand, loadError, type RulesModel } from '../scenario/rules.js';

export const COUNT_TABLE = 'ctlab_count';
export const COUNT_HOOKS = ['input', 'forward', 'output'] as const;
export type CountHook = (typeof COUNT_HOOKS)[number];

/** Where the user's ruleset is written in its node. */
export const RULES_PATH = '/etc/ctlab/firewall.rules';

/** The counting table as an `nft -f` ruleset. */
export function countTableText(): string {
  const lines = [`table inet ${COUNT_TABLE} {`];
  for (const h of COUNT_HOOKS) {
    for (const side of ['before', 'after'] as const) lines.push(`  counter ${h}_${side} {}`);
  }
  for (const h of COUNT_HOOKS) {
    for (const side of ['before', 'after'] as const) {
      lines.push(
        `  chain ${h}_${side} {`,
        `    type filter hook ${h} priority ${COUNT_PRIORITY[side]}; policy accept;`,
        `    ct state invalid counter name "${h}_${side}"`,
        '  }',
      );
    }
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/**
 * A node's own ruleset (server or client): written into the node, loaded, then the counting
 * table. The counting table goes in after the user's ruleset, so a `flush ruleset` in it cannot
 * remove it. The ruleset's text travels in the command itself (an argument, not a host path),
 * so it reaches the node the same way with Docker, plain namespaces and inside a VM guest.
 */
export function rulesetCommands(rules: RulesModel, backend: 'nft' | 'legacy'): string[][] {
  return [
    ['sh', '-c', `mkdir -p /etc/ctlab && printf '%s' "$1" > ${RULES_PATH}`, 'sh', rules.text],
    loadCommand(rules.format, backend, RULES_PATH),
    ['sh', '-c', `printf '%s' "$1" | nft -f -`, 'sh', countTableText()],
  ];
}

/**
 * A set-up command's failure in `node`, worded for the user when it was the real load of their
 * ruleset (which the dry run cannot fully check: iptables-restore --test accepts a jump to a
 * chain that does not exist): one line with the field, the file, the line and the tool's words.
 * Any other failure is returned as it was.
 */
export function rulesetLoadFailure(e: unknown, node: string, r: { field: string; given: string } | undefined): unknown {
  if (!r || !(e instanceof CtlabError) || e.command?.[e.command.length - 1] !== RULES_PATH) return e;
  const words = loadError(r, `${e.stderr ?? ''}\n${e.stdout ?? ''}`, 'nft -f');
  return new CtlabError('LAB', `${r.field}: ${words} (it passed the dry run; loading it in node ${node} failed)`, {
    cause: e,
  });
}

/**
 * The server's firewall commands: the user's ruleset then the counting table, or ctlab-firewall
 * (which accepts new connections to port 80 and to each of `ports`: a user's service image).
 */
export function serverFirewallCommands(
  fw: {
    dropInvalid: boolean;
    backend: 'nft' | 'legacy';
    policy?: 'drop' | 'accept';
    rules?: RulesModel;
  },
  ports: number[] = [],
): string[][] {
  if (fw.rules) return rulesetCommands(fw.rules, fw.backend);
  // lab/server/firewall.sh, installed in the server image as ctlab-firewall.
  const firewall = ['ctlab-firewall', '--backend', fw.backend];
  if (!fw.dropInvalid) firewall.push('--no-drop-invalid');
  if (fw.policy === 'accept') firewall.push('--policy', 'accept');
  for (const p of ports) if (p !== 80) firewall.push('--port', String(p));
  return [firewall];
}

/** `nft -j list counters table inet ctlab_count` → before/after per hook (0 for a missing counter). */
export function parseCountTable(json: string): Record<CountHook, { before: number; after: number }> | undefined {
  let doc: { nftables?: { counter?: { name: string; packets: number } }[] };
  try {
    doc = JSON.parse(json);
  } catch {
    return undefined;
  }
  const out = Object.fromEntries(COUNT_HOOKS.map((h) => [h, { before: 0, after: 0 }])) as Record<
    CountHook,
    { before: number; after: number }
  >;
  let seen = 0;
  for (const e of doc.nftables ?? []) {
    const m = e.counter && /^(input|forward|output)_(before|after)$/.exec(e.counter.name);
    if (!m || !e.counter) continue;
    out[m[1] as CountHook][m[2] as 'before' | 'after'] = e.counter.packets;
    seen++;
  }
  return seen === COUNT_HOOKS.length * 2 ? out : undefined;
}

/** `nft -j list counters` of the ctlab_count table → the bracket's sums and hooks (undefined: not those counters). */
export function invalidCountOf(json: string): InvalidCount | undefined {
  const hooks = parseCountTable(json);
  if (!hooks) return undefined;
  const sum = (k: 'before' | 'after') => Object.values(hooks).reduce((a, h) => a + h[k], 0);
  return { method: 'nft-bracket', before: sum('before'), after: sum('after'), hooks };
}
