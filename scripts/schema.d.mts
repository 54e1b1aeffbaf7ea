// Types of scripts/schema.mjs for the TypeScript that imports it (test/unit/scenario/json-schema.test.ts).
export declare const SCHEMA_FILE: string;
export declare function scenarioJsonSchema(): Promise<Record<string, unknown>>;
export declare function scenarioJsonSchemaText(): Promise<string>;
