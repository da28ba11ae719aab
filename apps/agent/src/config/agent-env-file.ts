import { readFileSync } from 'node:fs';

/**
 * The environment file the shipped unit reads (`EnvironmentFile=-/etc/cti/agent.env`): S3 credentials
 * and the config overrides. The CLI reads the same file (CTI_AGENT_ENV_FILE names another).
 */
export const DEFAULT_AGENT_ENV_FILE = '/etc/cti/agent.env';

/** What loading the env file did: the names it set, or why it could not be read (null: fine or absent). */
export type AgentEnvFile = {
  path: string;
  present: boolean;
  applied: string[];
  problem: string | null;
};

const VALID_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Characters a backslash escapes inside double quotes (systemd's SHELL_NEED_ESCAPE). */
const DOUBLE_QUOTE_ESCAPES = '"\\`$';

/**
 * `KEY=VALUE` lines as systemd's EnvironmentFile= reads them (env-file.c): `#` and `;` start a comment
 * line; whitespace around the key and the value is dropped; '…' is literal; "…" takes `\` before
 * `"` `\` `` ` `` `$` (and keeps it before anything else); an unquoted `\` escapes the next character;
 * a `\` before a line end continues the line; no `$VAR` expansion. A later line wins. Names that are
 * not valid variable names are left out, as systemd does.
 *
 * @example parseEnvironmentFile('# S3\nAWS_REGION="ca-central-1"\n') // Map { 'AWS_REGION' => 'ca-central-1' }
 */
export function parseEnvironmentFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let state:
    | 'preKey'
    | 'key'
    | 'preValue'
    | 'value'
    | 'escape'
    | 'single'
    | 'double'
    | 'doubleEscape'
    | 'comment' = 'preKey';
  let key = '';
  let value = '';
  let trailing = -1; // where the unquoted value's trailing whitespace starts, -1 when none
  const push = () => {
    const name = key.trim();
    if (VALID_NAME.test(name)) out.set(name, trailing >= 0 ? value.slice(0, trailing) : value);
    key = '';
    value = '';
    trailing = -1;
  };
  for (const c of text) {
    const newline = c === '\n' || c === '\r';
    const space = c === ' ' || c === '\t';
    switch (state) {
      case 'preKey':
        if (c === '#' || c === ';') state = 'comment';
        else if (!newline && !space) {
          state = 'key';
          key = c;
        }
        break;
      case 'key':
        if (newline) {
          state = 'preKey'; // a line without `=`: ignored
          key = '';
        } else if (c === '=') state = 'preValue';
        else key += c;
        break;
      case 'preValue':
        if (newline) {
          push();
          state = 'preKey';
        } else if (c === "'") state = 'single';
        else if (c === '"') state = 'double';
        else if (c === '\\') state = 'escape';
        else if (!space) {
          state = 'value';
          value += c;
        }
        break;
      case 'value':
        if (newline) {
          push();
          state = 'preKey';
        } else if (c === '\\') {
          state = 'escape';
          trailing = -1;
        } else {
          if (!space) trailing = -1;
          else if (trailing < 0) trailing = value.length;
          value += c;
        }
        break;
      case 'escape':
        state = 'value';
        if (!newline) value += c;
        break;
      case 'single':
        if (c === "'") state = 'preValue';
        else value += c;
        break;
      case 'double':
        if (c === '"') state = 'preValue';
        else if (c === '\\') state = 'doubleEscape';
        else value += c;
        break;
      case 'doubleEscape':
        state = 'double';
        if (DOUBLE_QUOTE_ESCAPES.includes(c)) value += c;
        else if (c !== '\n') value += `\\${c}`;
        break;
      case 'comment':
        if (newline) state = 'preKey';
        break;
    }
  }
  // The last line without its line end: pushed from any value state (an open quote included).
  if (state !== 'preKey' && state !== 'key' && state !== 'comment') {
    if (state !== 'value') trailing = -1;
    push();
  }
  return out;
}

/**
 * Sets in `env` what the env file at `path` holds, as the service gets it from systemd, without
 * replacing a variable already set (the caller's own environment wins). A missing file is no problem
 * (the unit's `-` prefix makes it optional); one this user may not read (0640 root:cti, run without
 * sudo) is reported in `problem` with the fix.
 */
export function loadAgentEnvFile(path: string, env: NodeJS.ProcessEnv, user: string): AgentEnvFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { path, present: false, applied: [], problem: null };
    const problem =
      code === 'EACCES' || code === 'EPERM'
        ? `cannot read ${path} as ${user}: run it with sudo`
        : `cannot read ${path}: ${(err as Error).message}`;
    return { path, present: true, applied: [], problem };
  }
  const applied: string[] = [];
  for (const [name, value] of parseEnvironmentFile(text)) {
    if (env[name] !== undefined) continue;
    env[name] = value;
    applied.push(name);
  }
  return { path, present: true, applied, problem: null };
}
