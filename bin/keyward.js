#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('keyward: not built yet; run `npm run build` (npm install does it for you)\n');
  process.exit(1);
}
const { main } = await import(pathToFileURL(entry).href);
await main(process.argv);
