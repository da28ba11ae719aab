// Test support (not built): runs `cti-agent` (src/cli.ts) in its own process, as an operator would.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli.ts');

/** How a `cti-agent` run ended: its exit code, or 'still running' when it outlived the timeout (then killed). */
export type CliRun = { code: number | 'still running'; stdout: string; stderr: string };

/**
 * Runs `cti-agent …args` and resolves when it exits (or is SIGKILLed after `timeoutMs`).
 *
 * @example const { code, stderr } = await runAgentCli(['--config', file, 'status']);
 */
export function runAgentCli(
  args: string[],
  { env, timeoutMs = 60_000 }: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { env, timeout: timeoutMs, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const e = err as { code?: number; killed?: boolean } | null;
        resolve({ code: e ? (e.killed ? 'still running' : (e.code ?? 1)) : 0, stdout, stderr });
      },
    );
  });
}
