// The scenario file's JSON Schema (schema/scenario.schema.json), generated from the zod schema
// in src/scenario/schema.ts so editors (the YAML language server) validate and complete scenario
// files. `npm run schema` writes it; test/unit/scenario/json-schema.test.ts fails when the
// committed file differs from what this generates. Reads the compiled dist/: run after `npm run build`.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { zodToJsonSchema } from 'zod-to-json-schema';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Repository-relative path of the committed schema. */
export const SCHEMA_FILE = 'schema/scenario.schema.json';

/** The JSON Schema (draft-07) of a scenario file, as an object. */
export async function scenarioJsonSchema() {
  const { scenarioSchema } = await import(pathToFileURL(join(root, 'dist', 'src', 'scenario', 'schema.js')).href);
  const generated = zodToJsonSchema(scenarioSchema, { target: 'jsonSchema7', $refStrategy: 'none' });
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: 'ctlab scenario',
    description:
      'A ctlab scenario file (scenarios/*.yaml): the path, middlebox, server and client of the lab, the workload, ' +
      'and the variants to run with their expectations. Generated from src/scenario/schema.ts by `npm run schema`; ' +
      'ctlab validate checks more (names, addresses, kernel sysctls) than this schema.',
    ...rest,
  };
}

/** The file's text: 2-space JSON and a final newline. */
export async function scenarioJsonSchemaText() {
  return `${JSON.stringify(await scenarioJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(join(root, SCHEMA_FILE), await scenarioJsonSchemaText());
  console.log(`wrote ${SCHEMA_FILE}`);
}
