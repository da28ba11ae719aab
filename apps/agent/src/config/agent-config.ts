import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  agentConfigSchema,
  compileValidator,
  EID_LINE_PATTERN,
  formatProblem,
  type Problem,
} from '@cti/contracts';
import { type LogLevel, logLevelProblem } from '@cti/runtime';
import { compileEidPattern, EidPatternError } from '../eid/eid-pattern.ts';

export const DEFAULT_CONFIG_PATH = '/etc/cti/agent.json';

export type SourceConfig =
  | { kind: 'serial'; path: string; baudRate: number; reconnectCapMs: number }
  | { kind: 'folder'; dir: string; stableMs: number }
  | { kind: 'simulated'; fps: number; width: number; height: number; pattern: 'phantom' | 'synthetic' };

export type TriggerConfig =
  | {
      kind: 'gpio';
      bcm: number;
      activeLow: boolean;
      debounceMs: number;
      lockoutMs: number;
      longPressMs: number;
      mode: 'auto' | 'interrupt' | 'poll';
    }
  | { kind: 'none' };

export type GpsConfig =
  | { kind: 'fixed'; lat: number; lon: number }
  | { kind: 'nmea'; path: string; baudRate: number; maxAgeS: number }
  | null;

/** Heartbeat to the server (src/heartbeat); null when not configured. */
export type HeartbeatConfig = {
  /** POST target: `<server_url>/devices/heartbeat`. */
  url: string;
  intervalMs: number;
  timeoutMs: number;
  /** The device secret: systemd's credential, else /etc/cti/device-secret, unless configured. */
  secretFile: string;
  /** $CREDENTIALS_DIRECTORY: systemd's copies for this service, whose permissions systemd sets (device-secret-file.ts). */
  credentialsDir: string | null;
} | null;

/** Ear-tag reader on a serial line (src/eid); null when there is none. */
export type EidReaderConfig = {
  path: string;
  baudRate: number;
  /** Finds the tag in a line; its capture groups, joined, are the 15 digits. */
  pattern: RegExp;
  /** A tag is stamped into a capture only when read at most this long before the press. */
  windowMs: number;
} | null;

/** Where the device secret is read from when `heartbeat.secret_file` is not set. */
export const DEVICE_SECRET_FILE = '/etc/cti/device-secret';
/** The credential name in the unit's `LoadCredential=device-secret:/etc/cti/device-secret`. */
export const DEVICE_SECRET_CREDENTIAL = 'device-secret';

export type QualityGateConfig = {
  enabled: boolean;
  minMeanIntensity: number;
  maxDarkFraction: number;
  maxSaturatedFraction: number;
  minContrast: number;
  frozenMaxDifference: number;
  /** Refuse below this view verdict (ribeye_view); null = the view card's own threshold. */
  minRibeyeView: number | null;
};

/** The validated config with every default applied (keys documented in docs/agent.md). */
export type AgentConfig = {
  deviceCode: string;
  operatorId: string | null;
  farmId: string | null;
  dataDir: string;
  source: SourceConfig;
  probe: { model: string; frequencyMhz?: number; pixelSpacingMm?: number; pixelAspect?: number } | null;
  trigger: TriggerConfig;
  gpioChipLabel: string | null;
  sysfsRoot: string;
  led: { bcm: number } | null;
  buzzer: { bcm: number } | null;
  capture: {
    ringMs: number;
    windowBeforeMs: number;
    windowAfterMs: number;
    format: 'png' | 'jpeg';
    jpegQuality: number;
    /** Captures waiting or running at once; a press past it is refused (CaptureBusyError, HTTP 429). */
    maxPending: number;
    qualityGate: QualityGateConfig;
  };
  gps: GpsConfig;
  hint: { enabled: boolean; modelPath: string | null };
  http: { host: string; port: number };
  upload: {
    enabled: boolean;
    bucket: string;
    region: string;
    endpoint: string | null;
    forcePathStyle: boolean;
    concurrency: number;
    multipartThresholdBytes: number;
  };
  /** retentionDays null: uploaded captures' files are kept. */
  outbox: { minFreeBytes: number; retentionDays: number | null };
  watchdog: { maxFrameGapMs: number };
  heartbeat: HeartbeatConfig;
  eidReader: EidReaderConfig;
  /** Derived paths inside dataDir. */
  paths: { outboxDb: string; spoolDir: string; runtimeFile: string };
  /** `LOG_LEVEL` from the environment (the unit sets `info`; agent.env may override it); `run`'s logger. */
  logLevel: LogLevel;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

// biome-ignore lint/suspicious/noExplicitAny: the raw file is validated by the schema before use
type Raw = Record<string, any>;
const validateFile = compileValidator<Raw>(agentConfigSchema);

/**
 * Read, validate (schema from @cti/contracts) and resolve the agent config. Secrets never live in the
 * file: AWS credentials come from the standard AWS chain (env, /etc/cti/agent.env via systemd's
 * EnvironmentFile); `S3_ENDPOINT`, `CTI_S3_BUCKET`, `AWS_REGION`, `CTI_OPERATOR_ID` override the file
 * (empty is unset) and are validated with it.
 */
export function loadConfig(
  path: string = DEFAULT_CONFIG_PATH,
  env: NodeJS.ProcessEnv = process.env,
): AgentConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `cannot read agent config ${path}: ${(err as Error).message}. Fix: create it from infra/pi/agent.json.template or pass --config <file>.`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`agent config ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return resolveConfig(data, env, path);
}

/**
 * CTI_OPERATOR_ID as meta.json's operator_id can hold it: empty or only spaces (`CTI_OPERATOR_ID=` or
 * `CTI_OPERATOR_ID=  ` in the EnvironmentFile) is unset; over 128 characters is a ConfigError. Unchecked,
 * a long one made every capture an InvalidMetaError (operator_id is 1-128 characters) and a blank one
 * stamped every capture with a blank operator.
 */
function operatorFromEnv(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if ([...value].length > 128)
    throw new ConfigError(`CTI_OPERATOR_ID is ${[...value].length} characters; meta.json allows at most 128`);
  return value;
}

/**
 * LOG_LEVEL as the server checks it (empty or only spaces is unset: `info`); a problem line when pino
 * would not take it — unchecked, pino threw a stack trace at start (exit 1, a systemd restart loop).
 */
function logLevelFromEnv(value: string | undefined): { level: LogLevel; problem: string | null } {
  const level = value?.trim() || 'info';
  const problem = logLevelProblem(level);
  return problem
    ? { level: 'info', problem: `LOG_LEVEL: ${problem}, got ${JSON.stringify(value)}` }
    : { level: level as LogLevel, problem: null };
}

/** Environment variables that override a key under `upload` in the file (the `agent.env` skeleton). */
const UPLOAD_OVERRIDES = { CTI_S3_BUCKET: 'bucket', AWS_REGION: 'region', S3_ENDPOINT: 'endpoint' } as const;

/**
 * The file with the environment's upload overrides applied, and which pointer each variable set, so
 * the merged config goes through the same schema as the file and a bad value is reported under the
 * variable's name. Empty (`CTI_S3_BUCKET=` uncommented in agent.env) is unset, as for CTI_OPERATOR_ID.
 */
function applyOverrides(
  data: unknown,
  env: NodeJS.ProcessEnv,
): { merged: unknown; from: Map<string, string> } {
  const from = new Map<string, string>();
  const upload = (data as Raw | null)?.upload;
  // Anything but an object for the file or its `upload` is the file's own problem: left to the schema.
  if (typeof upload !== 'object' || upload === null || Array.isArray(upload)) return { merged: data, from };
  const merged: Raw = { ...upload };
  for (const [name, key] of Object.entries(UPLOAD_OVERRIDES)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    merged[key] = value;
    from.set(`/upload/${key}`, name);
  }
  return { merged: { ...(data as Raw), upload: merged }, from };
}

/** Keys whose refused value is repeated in the error: an invisible space or control character shows. */
const SHOW_VALUE: Record<string, (merged: Raw) => unknown> = { '/upload/region': (m) => m.upload?.region };

function describeProblem(problem: Problem, from: Map<string, string>, merged: unknown): string {
  const value = SHOW_VALUE[problem.pointer]?.(merged as Raw);
  const message =
    typeof value === 'string' ? `${problem.message}, got ${JSON.stringify(value)}` : problem.message;
  const name = from.get(problem.pointer);
  return name
    ? `${name}: ${message} (overrides ${problem.pointer})`
    : formatProblem({ pointer: problem.pointer, message });
}

export function resolveConfig(data: unknown, env: NodeJS.ProcessEnv = {}, origin = 'config'): AgentConfig {
  const { merged, from } = applyOverrides(data, env);
  const result = validateFile(merged);
  const logLevel = logLevelFromEnv(env.LOG_LEVEL);
  if (!result.ok || logLevel.problem) {
    const problems = result.ok ? [] : result.problems;
    const overridden = problems.some((p) => from.has(p.pointer));
    const envNote = overridden
      ? ' with its environment overrides'
      : logLevel.problem
        ? ' with its environment'
        : '';
    throw new ConfigError(
      `invalid agent config ${origin}${envNote}:\n  ` +
        [
          ...problems.map((p) => describeProblem(p, from, merged)),
          ...(logLevel.problem ? [logLevel.problem] : []),
        ].join('\n  '),
    );
  }
  const f = result.value;
  const dataDir: string = f.data_dir ?? '/var/lib/cti';
  const gate = f.capture?.quality_gate ?? {};
  const upload = f.upload;
  return {
    deviceCode: f.device_code,
    operatorId: operatorFromEnv(env.CTI_OPERATOR_ID) ?? f.operator_id ?? null,
    farmId: f.farm_id ?? null,
    dataDir,
    source: resolveSource(f.source),
    probe: f.probe
      ? {
          model: f.probe.model,
          frequencyMhz: f.probe.frequency_mhz,
          pixelSpacingMm: f.probe.pixel_spacing_mm,
          pixelAspect: f.probe.pixel_aspect,
        }
      : null,
    trigger: resolveTrigger(f.trigger ?? { kind: 'none' }),
    gpioChipLabel: f.gpio_chip_label ?? null,
    sysfsRoot: f.sysfs_root ?? '/sys',
    led: f.led ?? null,
    buzzer: f.buzzer ?? null,
    capture: {
      ringMs: f.capture?.ring_ms ?? 2000,
      windowBeforeMs: f.capture?.window_before_ms ?? 400,
      windowAfterMs: f.capture?.window_after_ms ?? 0,
      format: f.capture?.format ?? 'png',
      jpegQuality: f.capture?.jpeg_quality ?? 92,
      maxPending: f.capture?.max_pending ?? 4,
      qualityGate: {
        enabled: gate.enabled ?? true,
        minMeanIntensity: gate.min_mean_intensity ?? 12,
        maxDarkFraction: gate.max_dark_fraction ?? 0.92,
        maxSaturatedFraction: gate.max_saturated_fraction ?? 0.25,
        minContrast: gate.min_contrast ?? 6,
        frozenMaxDifference: gate.frozen_max_difference ?? 0.5,
        minRibeyeView: gate.min_ribeye_view ?? null,
      },
    },
    gps: resolveGps(f.gps ?? null),
    hint: { enabled: f.hint?.enabled ?? true, modelPath: f.hint?.model_path ?? null },
    http: { host: f.http?.host ?? '127.0.0.1', port: f.http?.port ?? 8787 },
    upload: {
      enabled: upload.enabled ?? true,
      bucket: upload.bucket,
      region: upload.region ?? 'ca-central-1',
      endpoint: upload.endpoint ?? null,
      forcePathStyle: upload.force_path_style ?? Boolean(upload.endpoint),
      concurrency: upload.concurrency ?? 2,
      multipartThresholdBytes: (upload.multipart_threshold_mb ?? 16) * 1024 * 1024,
    },
    outbox: {
      minFreeBytes: (f.outbox?.min_free_mb ?? 200) * 1024 * 1024,
      retentionDays: f.outbox?.retention_days === undefined ? 7 : f.outbox.retention_days,
    },
    watchdog: { maxFrameGapMs: f.watchdog?.max_frame_gap_ms ?? 5000 },
    heartbeat: resolveHeartbeat(f.heartbeat ?? null, env),
    eidReader: resolveEidReader(f.eid_reader ?? null, origin),
    paths: {
      outboxDb: join(dataDir, 'outbox.db'),
      spoolDir: join(dataDir, 'spool'),
      runtimeFile: join(dataDir, 'agent-http.json'),
    },
    logLevel: logLevel.level,
  };
}

function resolveSource(s: Raw): SourceConfig {
  if (s.kind === 'serial') {
    return {
      kind: 'serial',
      path: s.path,
      baudRate: s.baud_rate ?? 115200,
      reconnectCapMs: s.reconnect_cap_ms ?? 5000,
    };
  }
  if (s.kind === 'folder') return { kind: 'folder', dir: s.dir, stableMs: s.stable_ms ?? 300 };
  return {
    kind: 'simulated',
    fps: s.fps ?? 15,
    width: s.width ?? 512,
    height: s.height ?? 384,
    pattern: s.pattern ?? 'phantom',
  };
}

function resolveTrigger(t: Raw): TriggerConfig {
  if (t.kind === 'none') return { kind: 'none' };
  return {
    kind: 'gpio',
    bcm: t.bcm,
    activeLow: t.active_low ?? true,
    debounceMs: t.debounce_ms ?? 30,
    lockoutMs: t.lockout_ms ?? 1500,
    longPressMs: t.long_press_ms ?? 3000,
    mode: t.mode ?? 'auto',
  };
}

function resolveGps(g: Raw | null): GpsConfig {
  if (!g) return null;
  if (g.kind === 'fixed') return { kind: 'fixed', lat: g.lat, lon: g.lon };
  return { kind: 'nmea', path: g.path, baudRate: g.baud_rate ?? 9600, maxAgeS: g.max_age_s ?? 30 };
}

function resolveHeartbeat(h: Raw | null, env: NodeJS.ProcessEnv): HeartbeatConfig {
  if (!h) return null;
  const base = h.server_url.endsWith('/') ? h.server_url : `${h.server_url}/`;
  const credentials = env.CREDENTIALS_DIRECTORY;
  return {
    url: new URL('devices/heartbeat', base).toString(),
    intervalMs: (h.interval_s ?? 60) * 1000,
    timeoutMs: (h.timeout_s ?? 10) * 1000,
    secretFile:
      h.secret_file ?? (credentials ? join(credentials, DEVICE_SECRET_CREDENTIAL) : DEVICE_SECRET_FILE),
    credentialsDir: credentials || null,
  };
}

function resolveEidReader(e: Raw | null, origin: string): EidReaderConfig {
  if (!e) return null;
  let pattern: RegExp;
  try {
    pattern = compileEidPattern(e.pattern ?? EID_LINE_PATTERN);
  } catch (err) {
    if (!(err instanceof EidPatternError)) throw err;
    throw new ConfigError(`invalid agent config ${origin}:\n  /eid_reader/pattern: ${err.message}`);
  }
  return { path: e.path, baudRate: e.baud_rate ?? 9600, pattern, windowMs: (e.window_s ?? 120) * 1000 };
}
