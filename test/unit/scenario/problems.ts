// Shared by the scenario tests: what a scenario text's validation says, one "line: field: message"
// string per problem ([] when the text is valid).
import { parseScenario, ScenarioError } from '../../../src/scenario/load.js';

export function problems(text: string): string[] {
  try {
    parseScenario(text, 'x.yaml');
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems.map((p) => `${p.line}: ${p.field}: ${p.message}`);
    throw e;
  }
  return [];
}
