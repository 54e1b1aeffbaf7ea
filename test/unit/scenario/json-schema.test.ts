// The committed JSON Schema of scenario files (schema/scenario.schema.json): it equals what
// `npm run schema` generates from the zod schema now, every scenario in scenarios/ validates
// against it, and it refuses what the zod schema refuses (unknown fields, bad values).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SCHEMA_FILE, scenarioJsonSchemaText } from '../../../scripts/schema.mjs';

const committed = readFileSync(SCHEMA_FILE, 'utf8');
const validate = new Ajv({ allErrors: true, allowUnionTypes: true, strict: true }).compile(JSON.parse(committed));
const scenarioFiles = readdirSync('scenarios')
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => join('scenarios', f));

function errors(doc: unknown): string[] {
  return validate(doc)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

describe('scenario JSON Schema', () => {
  it('is what the zod schema generates now', async () => {
    const fresh = await scenarioJsonSchemaText();
    expect(committed === fresh, `${SCHEMA_FILE} is stale: run \`npm run build && npm run schema\` and commit it`).toBe(
      true,
    );
  });

  it('finds the scenario files', () => {
    expect(scenarioFiles.length).toBeGreaterThanOrEqual(8);
  });

  it.each(scenarioFiles)('validates %s and names it on its first line', (file) => {
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../schema/scenario.schema.json');
    expect(errors(parse(text))).toEqual([]);
  });

  it('refuses an unknown field, at the top and nested', () => {
    const doc = parse(readFileSync('scenarios/harvester-asa.yaml', 'utf8'));
    expect(errors({ ...doc, varients: [] }).join('\n')).toMatch(/additionalProperty.*varients/);
    expect(errors({ ...doc, path: { ...doc.path, delay: 5 } }).join('\n')).toMatch(
      /\/path .*additionalProperty.*delay/,
    );
  });

  it('refuses bad values the zod schema refuses', () => {
    const doc = parse(readFileSync('scenarios/harvester-asa.yaml', 'utf8'));
    expect(errors({ ...doc, repetitions: 0 }).join('\n')).toMatch(/\/repetitions must be >= 1/);
    expect(errors({ ...doc, middlebox: { preset: 'no-such-preset' } }).join('\n')).toMatch(
      /\/middlebox\/preset must be equal to one of the allowed values/,
    );
    expect(errors({ ...doc, variants: [] }).join('\n')).toMatch(/\/variants must NOT have fewer than 1 items/);
  });
});
