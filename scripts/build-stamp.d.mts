// Types of scripts/build-stamp.mjs for the TypeScript that imports it (test/dist-fresh.ts).
export declare const STAMP: string;
export declare function sourceHashes(root: string): Record<string, string>;
export declare function staleSources(root: string): string[];
