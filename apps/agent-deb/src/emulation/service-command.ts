/** What systemd would run for a simple service unit, so the proof runs the service as installed. */
export type ServiceCommand = {
  argv: string[];
  env: Record<string, string>;
  /** EnvironmentFile= paths; a leading "-" (optional) is removed. */
  envFiles: string[];
  user: string | null;
};

export class UnitParseError extends Error {
  readonly code = 'unit_parse';
}

/**
 * Reads ExecStart=, Environment=, EnvironmentFile= and User= of a unit's [Service] section. Handles
 * the forms our unit uses (unquoted words, several KEY=VALUE pairs per Environment= line); anything
 * with quotes is refused rather than guessed.
 */
export function parseServiceUnit(text: string): ServiceCommand {
  const service = text.split(/^\[Service\]\s*$/m)[1]?.split(/^\[/m)[0];
  if (service === undefined) throw new UnitParseError('the unit has no [Service] section');
  const lines = service.split('\n').map((l) => l.trim());
  const values = (key: string) =>
    lines.filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1).trim());
  const execStart = values('ExecStart');
  if (execStart.length !== 1) throw new UnitParseError(`expected one ExecStart=, found ${execStart.length}`);
  const env: Record<string, string> = {};
  for (const line of values('Environment')) {
    if (/["']/.test(line)) throw new UnitParseError(`quoted Environment= is not supported: ${line}`);
    for (const pair of line.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq < 1) throw new UnitParseError(`Environment= entry without KEY=: ${pair}`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  if (/["']/.test(execStart[0]!))
    throw new UnitParseError(`quoted ExecStart= is not supported: ${execStart[0]}`);
  return {
    argv: execStart[0]!.split(/\s+/),
    env,
    envFiles: values('EnvironmentFile').map((f) => f.replace(/^-/, '')),
    user: values('User')[0] ?? null,
  };
}

/** KEY=VALUE lines of an environment file (comments and blank lines skipped), as systemd reads them. */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return env;
}
