// Bundles the live widget's front end, its loader and the board into ../graphkit/static/ (ES
// modules, self-contained: the WASM graphviz of @viz-js/viz and uPlot are inlined). `node build.mjs --dev` skips
// minification.
import { build } from 'esbuild';

const dev = process.argv.includes('--dev');

const common = {
  bundle: true,
  format: 'esm',
  target: 'es2020',
  platform: 'browser',
  minify: !dev,
  legalComments: 'eof',
  logLevel: 'warning'
};

await Promise.all([
  build({ ...common, entryPoints: ['src/widget.ts'], outfile: '../graphkit/static/graphkit-widget.js' }),
  build({ ...common, entryPoints: ['src/loader.ts'], outfile: '../graphkit/static/graphkit-loader.js' }),
  build({ ...common, entryPoints: ['src/board/index.ts'], outfile: '../graphkit/static/graphkit-board.js' })
]);
