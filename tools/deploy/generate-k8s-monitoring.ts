import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderMonitoringManifests } from './k8s-monitoring.js';

/** `npx tsx tools/deploy/generate-k8s-monitoring.ts`: rewrite the k8s copies of monitoring/. */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
for (const file of renderMonitoringManifests(repoRoot)) {
  writeFileSync(path.join(repoRoot, file.path), file.content);
  process.stdout.write(`wrote ${file.path}\n`);
}
