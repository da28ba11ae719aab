// Bundles the Lambda entry (src/lambda.ts) into one ESM file, dist/lambda/index.mjs (handler
// `index.handler`, nodejs24.x). The AWS SDK is bundled rather than taken from the runtime: the
// runtime's SDK version changes under us, the bundled one is the one the tests ran against.
import { stat } from 'node:fs/promises';
import { build } from 'esbuild';

const outfile = new URL('../dist/lambda/index.mjs', import.meta.url).pathname;

await build({
  entryPoints: [new URL('../src/lambda.ts', import.meta.url).pathname],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  // CommonJS dependencies (pino, ajv) call require() for node builtins; ESM has none by default.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  logLevel: 'warning',
});

const { size } = await stat(outfile);
console.log(`bundled ${outfile} (${(size / 1024).toFixed(0)} KiB)`);
