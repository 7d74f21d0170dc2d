// Bundles src/browser.ts into one ESM file for browsers (esbuild). The Node adapter finder
// (src/gpu/dawn.ts, which loads Dawn and reads the file system) is reached only through a
// dynamic import that browsers never run; the bundle gets a stand-in that says so instead, so
// no Node module and no unresolvable import end up in it.
import { build } from 'esbuild';

export async function buildBrowser(outfile = 'dist/shrinkray.browser.js', entry = 'src/browser.ts') {
  return build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile,
    sourcemap: true,
    logLevel: 'error',
    plugins: [
      {
        name: 'node-only',
        setup(b) {
          b.onResolve({ filter: /\/dawn\.js$/ }, () => ({ path: 'dawn', namespace: 'node-only' }));
          b.onLoad({ filter: /.*/, namespace: 'node-only' }, () => ({
            contents: "export async function findDawnAdapter() { throw new Error('shrinkray: Dawn is for Node; this is the browser build, which uses navigator.gpu.'); }",
            loader: 'js',
          }));
        },
      },
    ],
  });
}

if (import.meta.url === `file://${process.argv[1]}`) await buildBrowser(process.argv[2]);
