// Bad input, through the real CLI: exit 2, one line naming file:line:col and the field, no stack
// trace, and nothing started. "Nothing started" is checked two ways: DOCKER_HOST points at a
// socket that does not exist, so touching Docker would exit 3 (not 2); and the command runs in an
// empty folder that must still be empty afterwards (no runs/ folder, no build log).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { itWith, requireRoot } from '../../gate.js';
import {
  assertBuilt,
  CANONICAL,
  ctlab,
  edited,
  lines,
  NO_DOCKER,
  STACK_FRAME,
  tempDir,
  type CliResult,
} from './cli.js';

beforeAll(assertBuilt);

async function runIn(args: string[]): Promise<{ r: CliResult; leftBehind: string[] }> {
  const cwd = tempDir('ctlab-badinput-cwd-');
  const r = await ctlab(args, { cwd, env: NO_DOCKER });
  return { r, leftBehind: readdirSync(cwd) };
}

function expectUsageError(r: CliResult, leftBehind: string[]): string {
  expect(r.exitCode, `stderr: ${r.stderr}`).toBe(2);
  expect(r.stderr).not.toMatch(STACK_FRAME);
  expect(r.stderr).not.toContain('unexpected error');
  expect(r.stderr).not.toMatch(/Docker is unreachable/);
  expect(r.stdout).toBe('');
  expect(leftBehind).toEqual([]);
  return lines(r.stderr)[0]!;
}

describe('ctlab run: a bad scenario file is one line with file:line:col: field: message, exit 2, nothing started', () => {
  const dir = tempDir('ctlab-badinput-');

  it('a missing file', async () => {
    const missing = join(dir, 'no-such-scenario.yaml');
    const { r, leftBehind } = await runIn(['run', missing]);
    const first = expectUsageError(r, leftBehind);
    expect(first).toBe(`ctlab: cannot read scenario ${missing}: no such file`);
    // At most one more line, and it says what to do.
    expect(lines(r.stderr).slice(1)).toEqual([expect.stringMatching(/^\s+fix: .*scenarios\/harvester-asa\.yaml/)]);
  });

  it('a YAML syntax error (unclosed flow mapping)', async () => {
    const e = edited(
      dir,
      'syntax.yaml',
      'loss: { rate: 0.015, direction: to-client }',
      'loss: { rate: 0.015, direction: to-client',
      'loss:',
    );
    const { r, leftBehind } = await runIn(['run', e.file]);
    const first = expectUsageError(r, leftBehind);
    const m = new RegExp(
      `^ctlab: ${e.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):(\\d+): YAML syntax error: .+`,
    ).exec(first);
    expect(m, first).not.toBeNull();
    // The parser notices the missing brace at the broken line or later, never before it.
    expect(Number(m![1])).toBeGreaterThanOrEqual(e.line);
  });

  it('an unknown top-level field', async () => {
    const e = edited(dir, 'unknown.yaml', 'seed: 7\n', 'seed: 7\ncolour: blue\n', 'colour');
    const { r, leftBehind } = await runIn(['run', e.file]);
    expect(expectUsageError(r, leftBehind)).toBe(`ctlab: ${e.file}:${e.line}:${e.col}: colour: unknown field`);
    expect(lines(r.stderr)).toHaveLength(1);
  });

  it('an unknown nested field (a typo of delayMs)', async () => {
    const e = edited(dir, 'typo.yaml', '  delayMs: 15', '  delayMS: 15', 'delayMS');
    const { r, leftBehind } = await runIn(['run', e.file]);
    expect(expectUsageError(r, leftBehind)).toBe(`ctlab: ${e.file}:${e.line}:${e.col}: path.delayMS: unknown field`);
    expect(lines(r.stderr)).toHaveLength(1);
  });

  it('a negative delay', async () => {
    const e = edited(dir, 'negative-delay.yaml', 'delayMs: 15', 'delayMs: -15', '-15');
    const { r, leftBehind } = await runIn(['run', e.file]);
    expect(expectUsageError(r, leftBehind)).toBe(
      `ctlab: ${e.file}:${e.line}:${e.col}: path.delayMs: must be at least 0`,
    );
    expect(lines(r.stderr)).toHaveLength(1);
  });

  // Sysctls are checked in a throwaway network namespace of this kernel: root only (not root, the
  // check is skipped and the lab's node would refuse it, exit 3).
  itWith(requireRoot(), 'an impossible variant: an unknown sysctl, with the closest real name', async () => {
    const e = edited(
      dir,
      'unknown-sysctl.yaml',
      'sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 1 }',
      'sysctls: { net.netfilter.nf_conntrack_tcp_be_lenient: 1 }',
      'net.netfilter.nf_conntrack_tcp_be_lenient',
    );
    const { r, leftBehind } = await runIn(['run', e.file]);
    const first = expectUsageError(r, leftBehind);
    expect(
      first.startsWith(
        `ctlab: ${e.file}:${e.line}:${e.col}: variants[1].sysctls.net.netfilter.nf_conntrack_tcp_be_lenient: unknown sysctl`,
      ),
    ).toBe(true);
    expect(first).toMatch(/; did you mean net\.netfilter\.nf_conntrack_tcp_be_liberal\?$/);
    expect(lines(r.stderr)).toHaveLength(1);
  });

  itWith(requireRoot(), 'an impossible variant: be_liberal=2, refused by the kernel', async () => {
    const e = edited(
      dir,
      'be-liberal-2.yaml',
      'sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 1 }',
      'sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 2 }',
      'net.netfilter.nf_conntrack_tcp_be_liberal: 2',
    );
    const { r, leftBehind } = await runIn(['run', e.file]);
    const first = expectUsageError(r, leftBehind);
    expect(first).toMatch(
      new RegExp(
        `^ctlab: .*be-liberal-2\\.yaml:${e.line}:${e.col}: variants\\[1\\]\\.sysctls\\.net\\.netfilter\\.nf_conntrack_tcp_be_liberal: kernel \\S+ refuses net\\.netfilter\\.nf_conntrack_tcp_be_liberal=2: Invalid argument$`,
      ),
    );
    expect(lines(r.stderr)).toHaveLength(1);
  });

  itWith(requireRoot(), 'a congestion control the kernel does not offer', async () => {
    const e = edited(
      dir,
      'vegas.yaml',
      'sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 1 }',
      'sysctls: { net.ipv4.tcp_congestion_control: no-such-cc }',
      'net.ipv4.tcp_congestion_control',
    );
    const { r, leftBehind } = await runIn(['run', e.file]);
    expect(expectUsageError(r, leftBehind)).toMatch(
      new RegExp(
        `^ctlab: .*vegas\\.yaml:${e.line}:${e.col}: variants\\[1\\]\\.sysctls\\.net\\.ipv4\\.tcp_congestion_control: kernel \\S+ refuses net\\.ipv4\\.tcp_congestion_control=no-such-cc: No such file or directory \\(this kernel offers: .*\\)$`,
      ),
    );
    expect(lines(r.stderr)).toHaveLength(1);
  });

  it('an impossible variant: a duplicate variant name', async () => {
    const e = edited(
      dir,
      'duplicate.yaml',
      '- name: flag-on',
      '- name: flag-off',
      'flag-off\n    sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 1 }',
    );
    const { r, leftBehind } = await runIn(['run', e.file]);
    expect(expectUsageError(r, leftBehind)).toBe(
      `ctlab: ${e.file}:${e.line}:${e.col}: variants[1].name: duplicate variant name "flag-off"`,
    );
    expect(lines(r.stderr)).toHaveLength(1);
  });

  it('ctlab validate reports the same problem with the same exit code', async () => {
    const e = edited(dir, 'validate-negative.yaml', 'delayMs: 15', 'delayMs: -15', '-15');
    const { r, leftBehind } = await runIn(['validate', e.file]);
    expect(expectUsageError(r, leftBehind)).toBe(
      `ctlab: ${e.file}:${e.line}:${e.col}: path.delayMs: must be at least 0`,
    );
  });

  itWith(
    requireRoot(),
    "ctlab validate checks sysctls on this machine's kernel: a typo gets the real name",
    async () => {
      const e = edited(
        dir,
        'validate-typo.yaml',
        'sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 1 }',
        'sysctls: { net.netfilter.nf_conntrack_tcp_be_liberl: 1 }',
        'net.netfilter.nf_conntrack_tcp_be_liberl',
      );
      const { r, leftBehind } = await runIn(['validate', e.file]);
      expect(expectUsageError(r, leftBehind)).toMatch(
        new RegExp(
          `^ctlab: .*validate-typo\\.yaml:${e.line}:${e.col}: variants\\[1\\]\\.sysctls\\.net\\.netfilter\\.nf_conntrack_tcp_be_liberl: unknown sysctl .* on kernel \\S+; did you mean net\\.netfilter\\.nf_conntrack_tcp_be_liberal\\?$`,
        ),
      );
      expect(lines(r.stderr)).toHaveLength(1);
    },
  );
});

describe('ctlab run: bad options are exit 2 and start nothing', () => {
  it('an unknown --variant names it and lists the variants there are', async () => {
    const { r, leftBehind } = await runIn(['run', CANONICAL, '--variant', 'flag-sideways']);
    const first = expectUsageError(r, leftBehind);
    expect(first).toBe(`ctlab: no variant "flag-sideways" in ${CANONICAL}`);
    expect(lines(r.stderr).slice(1)).toEqual([expect.stringMatching(/^\s+fix: variants: flag-off, flag-on$/)]);
  });

  it('an unknown --variant among known ones is still refused', async () => {
    const { r, leftBehind } = await runIn(['run', CANONICAL, '--variant', 'flag-off', 'nope']);
    expect(expectUsageError(r, leftBehind)).toContain('"nope"');
  });

  for (const seed of ['abc', '-1', '1.5', '4294967296', '']) {
    it(`a bad --seed ${JSON.stringify(seed)} names the option and the accepted values`, async () => {
      const { r, leftBehind } = await runIn(['run', CANONICAL, '--seed', seed]);
      const first = expectUsageError(r, leftBehind);
      expect(first).toMatch(/--seed/);
      expect(first).toMatch(/0 to 4294967295/);
    });
  }

  // Known problem (reported): commander's showHelpAfterError() prints the whole `run --help`
  // (~20 lines) after the one-line error. Marked as failing so it turns red when fixed: then
  // drop `.fails`.
  it('a bad --seed is ONE line plus at most a pointer to --help, not the whole help', async () => {
    const { r } = await runIn(['run', CANONICAL, '--seed', 'abc']);
    expect(lines(r.stderr).length).toBeLessThanOrEqual(2);
  });

  it('a missing scenario argument is a usage error', async () => {
    const { r, leftBehind } = await runIn(['run']);
    expect(expectUsageError(r, leftBehind)).toMatch(/missing required argument 'scenario'/);
  });

  it('an unknown command is a usage error', async () => {
    const { r, leftBehind } = await runIn(['reproduce', CANONICAL]);
    expect(expectUsageError(r, leftBehind)).toMatch(/unknown command 'reproduce'/);
  });
});
