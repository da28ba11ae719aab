import { spawn } from 'node:child_process';

/** A build or test command that exited non-zero; the message names it and ends with its output. */
export class CommandError extends Error {
  readonly code = 'command_failed';
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  constructor(message: string, exitCode: number | null, stdout: string, stderr: string) {
    super(message);
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

export type RunOptions = {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the command's stdin (default: none). */
  input?: string;
  /** Resolve with the exit code instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  timeoutMs?: number;
};

export type RunResult = { code: number; stdout: string; stderr: string; ms: number };

/** The last lines of a command's output, for an error message that stays readable. */
function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Runs a command to completion and returns its output. Throws CommandError naming the command, its
 * exit code and the tail of its output unless `allowFailure` is set.
 *
 * @example
 * const { stdout } = await run('dpkg-deb', ['-f', deb, 'Version']);
 */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    if (options.input !== undefined) child.stdin!.end(options.input);
    child.once('error', (error) =>
      reject(new CommandError(`${command}: ${error.message}`, null, '', error.message)),
    );
    child.once('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      const ms = Math.round(performance.now() - started);
      if (code === 0 || options.allowFailure) {
        resolve({ code: code ?? 128, stdout, stderr, ms });
        return;
      }
      const how = signal ? `was killed by ${signal}` : `exited ${code}`;
      const output = tail(`${stdout}\n${stderr}`);
      reject(new CommandError(`${command} ${args.join(' ')} ${how}:\n${output}`, code, stdout, stderr));
    });
  });
}
