// Finding host programs: where a program lives on this machine (PATH, then the standard sbin/bin
// dirs), which of a list are missing, and the one line naming them with the apt command.
// Used by the namespace runtime's host check and by the NFQUEUE addon build.

import { accessSync, constants as fsc } from 'node:fs';
import { delimiter, join } from 'node:path';

/** A host program ctlab needs, and the Debian package that provides it. */
export interface HostProgram {
  program: string;
  pkg: string;
  why: string;
}

/** The standard program directories, searched after PATH (and the PATH of every netns node). */
export const STD_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of `program` on the host (PATH, then the standard sbin/bin dirs), or undefined. */
export function findProgram(program: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  const dirs = [...pathEnv.split(delimiter).filter((d) => d.startsWith('/')), ...STD_PATH];
  for (const d of dirs) {
    const p = join(d, program);
    try {
      accessSync(p, fsc.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

export interface HostCheck {
  /** Resolved absolute paths of the programs found. */
  programs: Record<string, string>;
  missing: HostProgram[];
}

/** Which of `programs` are missing (pure apart from the file system look-ups; used by checkNetnsHost). */
export function missingPrograms(programs: readonly HostProgram[], pathEnv?: string): HostCheck {
  const found: Record<string, string> = {};
  const missing: HostProgram[] = [];
  for (const p of programs) {
    const at = findProgram(p.program, pathEnv);
    if (at) found[p.program] = at;
    else missing.push(p);
  }
  return { programs: found, missing };
}

/** One line naming what is missing and the apt command that installs it. */
export function missingMessage(missing: HostProgram[]): { message: string; hint: string } {
  const pkgs = [...new Set(missing.map((m) => m.pkg))];
  return {
    message: `the namespace runtime needs host programs that are missing: ${missing.map((m) => `${m.program} (${m.pkg}: ${m.why})`).join(', ')}`,
    hint: `apt-get install -y ${pkgs.join(' ')}`,
  };
}
