// Test support (not built): runs `cti-agent` (src/cli.ts) in its own process, as an operator would.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli.ts');

/** How a `cti-agent` run ended: its exit code, or 'still running' when it outlived the timeout (then killed). */
export type CliRun = { code: number | 'still running'; stdout: string; stderr: string };

/**
 * Runs `cti-agent …args` and resolves when it exits (or is SIGKILLed after `timeoutMs`). `wrapper`
 * runs it through another program (`['unshare', '--mount', …]`: the CLI is appended to it);
 * `stdoutClosed` closes the reading end of its stdout at once, as `cti-agent … | head -0` would.
 *
 * @example const { code, stderr } = await runAgentCli(['--config', file, 'status']);
 */
export function runAgentCli(
  args: string[],
  {
    env,
    timeoutMs = 60_000,
    wrapper = [],
    stdoutClosed = false,
  }: { env?: NodeJS.ProcessEnv; timeoutMs?: number; wrapper?: string[]; stdoutClosed?: boolean } = {},
): Promise<CliRun> {
  const [file, ...before] = [...wrapper, process.execPath];
  return new Promise((resolve) => {
    const child = execFile(
      file!,
      [...before, cli, ...args],
      { env, timeout: timeoutMs, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const e = err as { code?: number; killed?: boolean } | null;
        resolve({ code: e ? (e.killed ? 'still running' : (e.code ?? 1)) : 0, stdout, stderr });
      },
    );
    if (stdoutClosed) child.stdout?.destroy();
  });
}

/**
 * Writes the config of an agent that only works on its outbox (a simulated probe, uploads off, its
 * local API on an unused port) to `file`; `extra` keys replace the defaults.
 *
 * @example writeOutboxOnlyConfig(join(dir, 'agent.json'), dataDir, { outbox: { min_free_mb: 1 } });
 */
export function writeOutboxOnlyConfig(
  file: string,
  dataDir: string,
  extra: Record<string, unknown> = {},
): string {
  const config = {
    device_code: 'dev-test',
    data_dir: dataDir,
    source: { kind: 'simulated', pattern: 'synthetic' },
    upload: { bucket: 'cti-test', enabled: false },
    http: { host: '127.0.0.1', port: 1 },
    ...extra,
  };
  writeFileSync(file, JSON.stringify(config));
  return file;
}
