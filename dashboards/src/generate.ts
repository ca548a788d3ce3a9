/** Writes the generated dashboards and alerting provisioning: `npm run generate -w @bluelight/dashboards`. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generatedFiles, REPO_ROOT } from './output.js';

for (const [file, content] of generatedFiles()) {
  const target = path.join(REPO_ROOT, file);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, content);
  console.log(`wrote ${file}`);
}
