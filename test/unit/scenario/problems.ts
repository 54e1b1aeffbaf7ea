// Shared by the scenario tests: what a scenario text's validation says, one "line: field: message"
// string per problem ([] when the text is valid). Sysctls are checked against FAKE_KERNEL.
import { parseScenario, ScenarioError } from '../../../src/scenario/load.js';
import { FAKE_KERNEL } from './fake-kernel.js';

export function problems(text: string): string[] {
  try {
    parseScenario(text, 'x.yaml', { kernel: FAKE_KERNEL });
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems.map((p) => `${p.line}: ${p.field}: ${p.message}`);
    throw e;
  }
  return [];
}
