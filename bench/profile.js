// Summarizes V8 CPU profiles (`--cpu-prof`): self time by function and by package.
// `node bench/profile.js <file.cpuprofile | dir> [--top N]`, e.g. on the directory that
// `node bench/run.js --only http --profile` prints.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '30' } },
});
if (positionals.length !== 1) {
  console.error('usage: node bench/profile.js <file.cpuprofile | dir> [--top N]');
  process.exit(2);
}
const target = positionals[0];
const files = statSync(target).isDirectory()
  ? readdirSync(target)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(target, f))
  : [target];

function where(url) {
  if (!url) return '(native/V8)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return url;
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `keyward ${url.slice(dist + 1)}`;
  return url.replace(/^file:\/\//, '');
}

const byFn = new Map();
const byPkg = new Map();
const inclusive = new Map();
let total = 0;
for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  // timeDeltas[i] is the time before samples[i] was taken; attribute it to that sample's node.
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  // Inclusive time: a node's self time counts for every distinct function on its stack.
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  for (const [id, us] of self) {
    const leaf = nodes.get(id).callFrame.functionName;
    if (leaf === '(idle)' || leaf === '(program)') continue;
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const f = nodes.get(at).callFrame;
      if (!f.url.includes('/dist/') || f.url.includes('node_modules')) continue;
      const fn = `${f.functionName || '(anonymous)'} ${where(f.url)}:${f.lineNumber + 1}`;
      if (seen.has(fn)) continue;
      seen.add(fn);
      inclusive.set(fn, (inclusive.get(fn) ?? 0) + us);
    }
  }
  for (const [id, us] of self) {
    const { callFrame: f } = nodes.get(id);
    if (f.functionName === '(idle)' || f.functionName === '(program)') continue;
    total += us;
    const fn = `${f.functionName || '(anonymous)'} ${where(f.url)}:${f.lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
    const w = where(f.url);
    const pkg = !f.url
      ? f.functionName
      : w.startsWith('node:')
        ? 'node core'
        : w.replace(/^keyward (dist\/[^/]+\/[^/]+).*/, 'keyward $1');
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + us);
  }
}

const top = Number(values.top);
const show = (title, m) => {
  console.log(`\n${title} (share of busy, non-idle CPU time)`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${((100 * us) / total).toFixed(1).padStart(6)}%  ${k}`);
};
console.log(`${files.length} profile(s), ${(total / 1e6).toFixed(2)} s busy`);
show('By package / area', byPkg);
show('By function (self time)', byFn);
show('Keyward functions, inclusive (self + callees)', inclusive);
