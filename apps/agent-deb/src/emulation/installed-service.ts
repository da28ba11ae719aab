import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Arm64Root } from './arm64-root.ts';
import { parseEnvironmentFile, parseServiceUnit } from './service-command.ts';

export type InstalledService = {
  /** Everything the service printed so far (journald's view). */
  logs: string[];
  /** SIGTERM, then the exit code; SIGKILL and 'timeout' when it does not exit within `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number | null | 'timeout'>;
};

/**
 * Starts a unit installed in the root the way systemd would without systemd: its ExecStart with its
 * Environment= and EnvironmentFile= variables, as its User= with that user's groups (what
 * SupplementaryGroups= gives the cti user) and home. No sandboxing: the root is the sandbox here.
 */
export function startInstalledService(root: Arm64Root, unitPath: string, home: string): InstalledService {
  const unit = parseServiceUnit(readFileSync(join(root.dir, unitPath), 'utf8'));
  if (!unit.user) throw new Error(`${unitPath} has no User=`);
  const envFiles = unit.envFiles.map((f) => parseEnvironmentFile(readFileSync(join(root.dir, f), 'utf8')));
  const env = {
    ...unit.env,
    ...Object.assign({}, ...envFiles),
    HOME: home,
    USER: unit.user,
    LOGNAME: unit.user,
  };
  const user = unit.user;
  const child: ChildProcess = root.spawn(
    ['setpriv', `--reuid=${user}`, `--regid=${user}`, '--init-groups', ...unit.argv],
    { env },
  );
  const logs: string[] = [];
  child.stdout!.on('data', (c: Buffer) => logs.push(c.toString()));
  child.stderr!.on('data', (c: Buffer) => logs.push(c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    logs,
    async stop(timeoutMs = 60_000) {
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const code = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (code === 'timeout') child.kill('SIGKILL');
      return code;
    },
  };
}
