// Axis patterns and cell names: pure, shared by the scenario loader (validation) and the
// matrix expansion.
import type { AxisPattern } from '../scenario/model.js';

/** Glob over an axis name: "*" any run of characters, "?" one; everything else literal. */
export function globMatch(glob: string, name: string): boolean {
  const re = new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(name);
}

/** A cell matches a pattern when any of its globs matches the axis name. */
export function matchAxis(p: AxisPattern, name: string): boolean {
  return p.some((g) => globMatch(g, name));
}

/** The cell's name, also its folder: "<firewall>--<server>". */
export function cellName(firewall: string, server: string): string {
  return `${firewall}--${server}`;
}
