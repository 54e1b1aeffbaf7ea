// Writes the run folder's reports: report.html (for people), summary.md (for CI job
// summaries), junit.xml (for CI test views).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VariantEvidence } from '../evidence/types.js';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import type { RunResult } from '../result/types.js';

/** Paths of the written files. `evidence` is keyed by variant folder (see analyzeRun()). */
export async function writeReports(
  result: RunResult,
  runDir: string,
  evidence: Record<string, VariantEvidence>,
): Promise<{ html: string; markdown: string; junit: string }> {
  const html = join(runDir, 'report.html');
  const markdown = join(runDir, 'summary.md');
  const junit = join(runDir, 'junit.xml');
  await Promise.all([
    writeFile(html, renderHtml(result, evidence)),
    writeFile(markdown, renderMarkdown(result, evidence)),
    writeFile(junit, renderJunit(result)),
  ]);
  return { html, markdown, junit };
}
