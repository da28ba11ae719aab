// `pnpm package:agent [--out <dir>] [--version <debian version>] [--xz-level 0-9]`: builds
// cti-agent_<version>_arm64.deb on this (x86) machine and prints where it is, its size, its Depends
// and how long each phase took.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildAgentDeb } from './build-agent-deb.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const OPTIONS = {
  out: { type: 'string', default: join(repoRoot, 'dist') },
  version: { type: 'string' },
  'xz-level': { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;
// `pnpm package:agent -- --out x` forwards the "--" itself.
const args = process.argv.slice(2).filter((arg, i) => !(i === 0 && arg === '--'));
const { values } = parseCommandLine();

function parseCommandLine() {
  try {
    return parseArgs({ args, options: OPTIONS });
  } catch (error) {
    process.stderr.write(`package:agent: ${(error as Error).message} (see --help)\n`);
    process.exit(2);
  }
}

if (values.help) {
  process.stdout.write(
    'usage: pnpm package:agent [--out <dir>] [--version <debian version>] [--xz-level 0-9]\n' +
      'Builds cti-agent_<version>_arm64.deb (default dir: dist/ at the repository root). Slow parts are\n' +
      'cached in $CTI_CACHE_DIR (default ~/.cache/cti-agent-deb). See docs/agent.md.\n',
  );
  process.exit(0);
}

function xzLevel(text: string): number {
  if (!/^[0-9]$/.test(text)) {
    process.stderr.write(`package:agent: --xz-level must be 0-9, got ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return Number(text);
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
try {
  const result = await buildAgentDeb({
    repoRoot,
    outDir: values.out,
    ...(values.version ? { version: values.version } : {}),
    ...(values['xz-level'] ? { xzLevel: xzLevel(values['xz-level']) } : {}),
    log: (line) => process.stderr.write(`[package:agent] ${line}\n`),
  });
  const phases = Object.entries(result.phases)
    .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`)
    .join(', ');
  const addons = result.addons.map(
    (a) => `${a.name} ${a.cached ? 'cached' : `${(a.ms / 1000).toFixed(1)} s`}`,
  );
  process.stdout.write(
    `${result.deb}\n` +
      `  version ${result.version}, ${mib(result.sizeBytes)} (installed ${mib(result.installedSizeKiB * 1024)})\n` +
      `  depends: ${result.depends.join(', ')}\n` +
      `  models: ${result.models.map((m) => `${m.name} ${m.version} (${m.file})`).join(', ')}\n` +
      `  addons: ${addons.join(', ')}\n` +
      `  phases: ${phases}\n`,
  );
} catch (error) {
  process.stderr.write(`package:agent: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
