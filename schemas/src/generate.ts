import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderEventsDoc } from './events-doc.js';
import { allEventJsonSchemas } from './json-schema.js';

const schemasDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const jsonDir = path.join(schemasDir, 'json');
export const eventsDocFile = path.resolve(schemasDir, '../docs/events.md');

/** Every generated file and its content: JSON Schemas and docs/events.md. */
export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, schema] of allEventJsonSchemas()) {
    files.set(path.join(jsonDir, name), `${JSON.stringify(schema, null, 2)}\n`);
  }
  files.set(eventsDocFile, renderEventsDoc());
  return files;
}

function main(): void {
  rmSync(jsonDir, { recursive: true, force: true });
  mkdirSync(jsonDir, { recursive: true });
  const files = generatedFiles();
  for (const [file, content] of files) writeFileSync(file, content);
  process.stdout.write(
    `wrote ${readdirSync(jsonDir).length} JSON Schemas to ${jsonDir} and ${eventsDocFile}\n`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main();
