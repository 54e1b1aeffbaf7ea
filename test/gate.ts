// The one gate for tests that need something optional on the host (a program, root, Docker, qemu):
// when it is missing, the tests skip visibly (the suite's name carries the reason and a warning is
// printed) on a developer's machine, and fail under CI (CI=true or CI=1), where every
// prerequisite must be installed (scripts/setup.sh).
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, it } from 'vitest';

/** Are we in CI, where a missing prerequisite is a failure instead of a skip? */
export const inCI = process.env.CI === 'true' || process.env.CI === '1';

/** What a group of tests needs, and what of it is missing here (empty: everything is at hand). */
export interface Gate {
  missing: string[];
}

/** A gate from a list of reasons; falsy entries (conditions that hold) are dropped. */
export function gate(...missing: Array<string | false | undefined | null>): Gate {
  return { missing: missing.filter((m): m is string => typeof m === 'string' && m.length > 0) };
}

/** All of these gates together. */
export function allOf(...gates: Gate[]): Gate {
  return { missing: gates.flatMap((g) => g.missing) };
}

/** The path of an executable program, searched like the shell does in PATH plus the sbin folders, or undefined. */
export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/**
 * A gate on programs. Each entry is a program name, or `name: install hint` (the hint goes into
 * the reason, e.g. 'tshark: apt-get install -y tshark').
 */
export function requireTool(...tools: string[]): Gate {
  return gate(
    ...tools.map((t) => {
      const colon = t.indexOf(':');
      const name = colon < 0 ? t : t.slice(0, colon);
      const hint = colon < 0 ? '' : t.slice(colon + 1).trim();
      return findTool(name) === undefined && `${name} (not installed${hint ? `; ${hint}` : ''})`;
    }),
  );
}

/** A gate on running as root. */
export function requireRoot(): Gate {
  return gate(process.getuid?.() !== 0 && 'root');
}

/** The sentence a skip or a CI failure carries. */
export function gateReason(g: Gate): string {
  return `missing ${g.missing.join(', ')}`;
}

function announce(name: string, g: Gate): void {
  console.warn(`[${name}] SKIPPED: ${gateReason(g)} (set CI=true to make this a failure)`);
}

/**
 * describe(name, fn) when the gate is open. Otherwise, outside CI: a skipped suite whose name
 * carries the reason (so the skip shows in the report) and a warning; under CI: one failing test
 * naming what is missing, and fn's tests are not registered.
 */
export function describeWith(g: Gate, name: string, fn: () => void): void {
  if (g.missing.length === 0) {
    describe(name, fn);
  } else if (inCI) {
    describe(name, () => {
      it('has its prerequisites (required when CI=true)', () => {
        throw new Error(`${name}: ${gateReason(g)}; install them (scripts/setup.sh) so these tests run`);
      });
    });
  } else {
    announce(name, g);
    describe.skip(`${name} [SKIPPED: ${gateReason(g)}]`, fn);
  }
}

/** it(name, fn, timeout) under the same rule as describeWith, for a single test inside a wider suite. */
export function itWith(g: Gate, name: string, fn: () => unknown, timeout?: number): void {
  if (g.missing.length === 0) {
    it(name, fn, timeout);
  } else if (inCI) {
    it(`${name} (prerequisites required when CI=true)`, () => {
      throw new Error(`${name}: ${gateReason(g)}; install them (scripts/setup.sh) so this test runs`);
    });
  } else {
    announce(name, g);
    it.skip(`${name} [SKIPPED: ${gateReason(g)}]`, fn, timeout);
  }
}
