// Lets plain `node` run the dashboard's `.tsx` files straight from source (tests, `node src/main.ts`):
// Node strips TypeScript types itself but does not compile JSX. `node --import ./scripts/register-jsx.ts`
// registers a synchronous load hook that hands only `.tsx` files to esbuild, with the same JSX settings
// as tsconfig.json (hono/jsx, automatic runtime); every `.ts` file still goes through Node's own
// type stripping. The production build (`tsc`) compiles `.tsx` itself and needs none of this.
import { readFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';

registerHooks({
  load(url, context, nextLoad) {
    if (!url.startsWith('file:') || !url.endsWith('.tsx')) return nextLoad(url, context);
    const path = fileURLToPath(url);
    const { code } = transformSync(readFileSync(path, 'utf8'), {
      loader: 'tsx',
      format: 'esm',
      jsx: 'automatic',
      jsxImportSource: 'hono/jsx',
      target: 'node24',
      sourcemap: 'inline',
      sourcefile: path,
    });
    return { format: 'module', source: code, shortCircuit: true };
  },
});
