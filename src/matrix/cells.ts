// Axes → cells. Each cell is the scenario with one firewall (middlebox profile) and one server
// configuration, as a derived Scenario with exactly one variant, so the ordinary run machinery
// (src/run/run.ts) runs it unchanged.
import type { Expectation } from '../result/expectations.js';
import type { MatrixModel, MiddleboxProfile, Scenario } from '../scenario/model.js';
import { BE_LIBERAL } from '../scenario/model.js';
import { CtlabError } from '../errors.js';
import { MATRIX_ONLY_METRICS } from '../result/metrics.js';
import { cellName, matchAxis } from './pattern.js';

export interface CellExpectation extends Expectation {
  /** The rule's explanation (the physics), '' when none was given. */
  why: string;
}

export interface MatrixCell {
  /** "<firewall>--<server>": the cell's folder and its variant's name. */
  name: string;
  firewall: string;
  server: string;
  /** The scenario as this cell runs it: one variant, named like the cell, no matrix. */
  scenario: Scenario;
  expect: CellExpectation[];
}

function matrixOf(s: Scenario): MatrixModel {
  if (!s.matrix)
    throw new CtlabError('SCENARIO', `${s.file} has no matrix section`, {
      hint: 'add `matrix: { axes: { firewall: [...], server: {...} } }`, or use `ctlab run` for its variants',
    });
  return s.matrix;
}

/** Every rule whose patterns match the cell contributes its lines (a line given twice counts once). */
export function cellExpectations(m: MatrixModel, firewall: string, server: string): CellExpectation[] {
  const out: CellExpectation[] = [];
  for (const r of m.expect) {
    if (!matchAxis(r.firewall, firewall) || !matchAxis(r.server, server)) continue;
    for (const e of r.expect) if (!out.some((o) => o.text === e.text)) out.push({ ...e, why: r.why });
  }
  return out;
}

export function isExcluded(m: MatrixModel, firewall: string, server: string): boolean {
  return m.exclude.some((x) => matchAxis(x.firewall, firewall) && matchAxis(x.server, server));
}

/** The cross product of the axes, firewall-major, minus the excluded cells. */
export function expandMatrix(s: Scenario): MatrixCell[] {
  const m = matrixOf(s);
  const cells: MatrixCell[] = [];
  for (const fw of m.firewalls) {
    for (const srv of m.servers) {
      if (isExcluded(m, fw.name, srv.name)) continue;
      const name = cellName(fw.name, srv.name);
      const expect = cellExpectations(m, fw.name, srv.name);
      const scenario: Scenario = {
        ...s,
        name: `${s.name}/${name}`,
        // One run per cell: repetitions multiply a matrix's time; rerun with --seed instead.
        repetitions: 1,
        middlebox: fw.profile,
        server: { sysctls: { ...s.server.sysctls }, firewall: { ...s.server.firewall, ...srv.firewall } },
        // The cell's own run checks what it can measure alone; the matrix checks the rest
        // (throughput.relative) once the control cell has run too (src/matrix/result.ts).
        variants: [
          {
            name,
            sysctls: { ...srv.sysctls },
            expect: expect.filter((e) => !MATRIX_ONLY_METRICS.includes(e.metric)).map(({ why: _why, ...e }) => e),
          },
        ],
      };
      delete scenario.matrix;
      cells.push({ name, firewall: fw.name, server: srv.name, scenario, expect });
    }
  }
  return cells;
}

/** A profile that rewrites nothing: no sequence offsets, no option stripped or changed. */
export function rewritesNothing(p: MiddleboxProfile): boolean {
  const o = p.options;
  return (
    !p.isn.client &&
    !p.isn.server &&
    o.sackPermitted.strip === 'none' &&
    o.windowScale.strip === 'none' &&
    o.windowScale.setSyn === undefined &&
    o.windowScale.setSynAck === undefined &&
    o.timestamps.strip === 'none'
  );
}

/**
 * The throughput baseline: the matrix's `control` if given; otherwise the first cell whose
 * firewall rewrites nothing, preferring a server configuration with the flag off (the
 * unmitigated server); undefined when no cell qualifies (throughput is then not compared).
 */
export function selectControl(s: Scenario, cells: MatrixCell[]): MatrixCell | undefined {
  const m = matrixOf(s);
  const control = m.control;
  if (control) return cells.find((c) => c.firewall === control.firewall && c.server === control.server);
  const plain = cells.filter((c) => rewritesNothing(c.scenario.middlebox));
  const flagOff = (c: MatrixCell) =>
    (c.scenario.variants[0]?.sysctls[BE_LIBERAL] ?? c.scenario.server.sysctls[BE_LIBERAL] ?? '0') === '0';
  return plain.find(flagOff) ?? plain[0];
}
