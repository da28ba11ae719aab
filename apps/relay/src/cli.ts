#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { text as readStream } from 'node:stream/consumers';
import type { parseArgs } from 'node:util';
import { parseCliArgs } from '@cti/contracts/cli-args';
import { createLogger, type Logger, onShutdown, startsWithCalendarDate } from '@cti/runtime';
import { pino } from 'pino';
import { systemClock } from './clock.ts';
import { ConfigError, loadLogLevel, loadRelayConfig, loadServeConfig, loadWatchConfig } from './config.ts';
import { loadState, StateFileError } from './local/watch-state.ts';
import { createWatcher } from './local/watcher.ts';
import { startNotifyServer } from './notify/notify-server.ts';
import type { Relay, RelayTarget } from './relay-core.ts';
import { createRelayFactory, createS3Client } from './relay-from-env.ts';
import { targetsFromEvent } from './s3-events.ts';
import { listMetaObjects } from './s3-objects.ts';

const USAGE = `Usage:
  cti-relay watch [--bucket B] [--state FILE] [--poll-ms N] [--retry-rejected]
      Poll the bucket for new raw/**/meta.json and relay each finished capture (local mode).
      --retry-rejected relays captures the server rejected before again (e.g. after fixing a secret).
  cti-relay once <bucket> <key> [--budget-ms N]    (or: cti-relay once s3://<bucket>/<key>)
      Relay one object now (ops replay, e.g. from the dead-letter queue). Prints the outcome as JSON;
      exit 0 when delivered or ignored, 1 when rejected, incomplete or failed.
  cti-relay replay <file|-> [--budget-ms N]
      Re-run an event from a file or stdin: an EventBridge/S3 event, or a dead-letter message from the
      Lambda's on-failure destination or \`serve\`'s dead-letter directory (its requestPayload).
      One JSON line per object; exit as for once.
  cti-relay replay --bucket B [--prefix P] [--since ISO-8601] [--budget-ms N]
      Cover a gap (notifications lost while nothing listened): relay every raw/**/meta.json in the
      bucket, or those modified since the time given. Captures the server has are answered as replays.
  cti-relay serve [--host H] [--port N]
      Receive a self-hosted store's bucket notifications (Ceph RGW, MinIO) on POST /notify and relay
      each finished capture; answers 503 so the store re-sends when a capture is incomplete or the
      server is unreachable. See docs/self-hosted-storage.md.
  cti-relay status [--bucket B] [--state FILE]
      Print the watcher's pending and rejected captures from its state file.

Configuration comes from the environment (CTI_WEBHOOK_URL, CTI_WEBHOOK_SECRETS, S3_ENDPOINT,
AWS_REGION, CTI_RELAY_*; serve: CTI_RELAY_NOTIFY_SECRETS, CTI_RELAY_LISTEN_*); see apps/relay/README.md.`;

const options = {
  bucket: { type: 'string' },
  state: { type: 'string' },
  'poll-ms': { type: 'string' },
  'budget-ms': { type: 'string' },
  'retry-rejected': { type: 'boolean' },
  prefix: { type: 'string' },
  since: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

async function watch(flags: Flags, log: Logger): Promise<number> {
  const config = loadRelayConfig(process.env);
  const watchConfig = loadWatchConfig(process.env, {
    bucket: flags.bucket,
    stateFile: flags.state,
    pollMs: flags['poll-ms'],
  });
  const relays = createRelayFactory({ config, log, source: 'local' });
  await relays.get(); // fail fast on unreadable secrets
  // Each object goes through relays.get() so a rotated Secrets Manager value is picked up.
  const relay = {
    relayObject: async (...args: Parameters<Relay['relayObject']>) =>
      (await relays.get()).relayObject(...args),
  };
  const watcher = createWatcher({
    s3: relays.s3,
    relay,
    config: watchConfig,
    log,
    clock: systemClock,
    retryRejected: flags['retry-rejected'] === true,
  });
  // Before start() logs "watching": a signal that arrives once it is announced must stop the watcher
  // (state saved), not kill the process outright. A stop before start() ends is a no-op.
  onShutdown(() => watcher.stop(), { log });
  await watcher.start();
  return new Promise<number>(() => {});
}

/** Relay targets one after another, print one JSON outcome line each; 0 when all delivered or ignored. */
async function relayTargets(targets: RelayTarget[], flags: Flags, log: Logger): Promise<number> {
  const config = loadRelayConfig({
    ...process.env,
    ...(flags['budget-ms'] && { CTI_RELAY_BUDGET_MS: flags['budget-ms'] }),
  });
  const relays = createRelayFactory({ config, log, source: 'replay' });
  let failures = 0;
  try {
    for (const target of targets) {
      const outcome = await (await relays.get()).relayObject(target);
      if (outcome.kind !== 'delivered' && outcome.kind !== 'ignored') failures++;
      process.stdout.write(`${JSON.stringify(targets.length === 1 ? outcome : { ...target, outcome })}\n`);
    }
  } finally {
    relays.s3.destroy();
  }
  return failures === 0 ? 0 : 1;
}

async function once(positionals: string[], flags: Flags, log: Logger): Promise<number> {
  const target = positionals.length === 1 ? s3Url(positionals[0]!) : null;
  const [bucket, key] = target ? [target.bucket, target.key] : positionals;
  if (!bucket || !key || positionals.length > 2)
    throw new UsageError('once needs exactly <bucket> <key>, or one s3://<bucket>/<key>');
  // A DLQ message names the object as s3://bucket/key: given as the key, it would name no object under
  // raw/ and be "ignored" with exit 0, relaying nothing (review r21 F3).
  if (key.startsWith('s3://'))
    throw new UsageError(
      `once: the key ${JSON.stringify(key)} is a URL; give <bucket> <key> or one s3://<bucket>/<key>`,
    );
  return relayTargets([{ bucket, key }], flags, log);
}

/** `s3://bucket/key` → its parts (null for anything else). */
function s3Url(value: string): { bucket: string; key: string } | null {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(value);
  return match ? { bucket: match[1]!, key: match[2]! } : null;
}

/**
 * Re-run an event (a raw EventBridge/S3 event, a DLQ message from Lambda's on-failure destination or a
 * dead letter of `serve`), or with --bucket every meta.json in the bucket (modified since --since).
 */
async function replay(positionals: string[], flags: Flags, log: Logger): Promise<number> {
  if (flags.bucket) {
    if (positionals.length > 0) throw new UsageError('replay takes either <file> or --bucket, not both');
    return relayTargets(await bucketTargets(flags), flags, log);
  }
  const [file] = positionals;
  if (!file || positionals.length > 1)
    throw new UsageError('replay needs exactly one <file> (or - for stdin), or --bucket B');
  let source: string;
  try {
    source = file === '-' ? await readStream(process.stdin) : await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let data: { requestPayload?: unknown } | null;
  try {
    data = JSON.parse(source);
  } catch (error) {
    throw new InputError(`${file} is not JSON: ${(error as Error).message}`);
  }
  // Lambda destinations wrap the original event as requestPayload (with the error as responsePayload).
  let targets: RelayTarget[];
  try {
    ({ targets } = targetsFromEvent(data?.requestPayload ?? data));
  } catch (error) {
    throw new InputError(`${file}: ${(error as Error).message}`);
  }
  return relayTargets(targets, flags, log);
}

/** A real YYYY-MM-DD day, alone or starting an ISO-8601 time (`T…`). */
const isIsoCalendarStart = (text: string) =>
  /^\d{4}-\d{2}-\d{2}(?:$|T)/.test(text) && startsWithCalendarDate(text);

/** Every meta.json under --prefix (raw/) in --bucket, modified at or after --since, oldest first. */
async function bucketTargets(flags: Flags): Promise<RelayTarget[]> {
  const since = flags.since === undefined ? 0 : Date.parse(flags.since);
  // Date.parse('2025-02-30') is 2 March and Date.parse('March 7') is some year's 7 March: neither is
  // the ISO-8601 day the operator meant, so only a real YYYY-MM-DD[Thh:mm…] is taken.
  if (Number.isNaN(since) || (flags.since !== undefined && !isIsoCalendarStart(flags.since)))
    throw new UsageError(`--since must be an ISO-8601 time, got ${JSON.stringify(flags.since)}`);
  const bucket = flags.bucket as string;
  const s3 = createS3Client(loadRelayConfig(process.env));
  try {
    const found = await listMetaObjects(s3, bucket, flags.prefix ?? 'raw/');
    return found
      .filter((o) => o.lastModified.getTime() >= since)
      .sort((a, b) => a.lastModified.getTime() - b.lastModified.getTime())
      .map((o) => ({ bucket, key: o.key }));
  } finally {
    s3.destroy();
  }
}

/** `serve`: the notification endpoint, until SIGTERM/SIGINT (in-flight notifications finish first). */
async function serve(flags: Flags, log: Logger): Promise<number> {
  const config = loadRelayConfig(process.env);
  const serveConfig = loadServeConfig(process.env, { host: flags.host, port: flags.port });
  const relays = createRelayFactory({ config, log, source: 'notification' });
  await relays.get(); // fail fast on unreadable secrets
  const relay = {
    relayObject: async (...args: Parameters<Relay['relayObject']>) =>
      (await relays.get()).relayObject(...args),
  };
  const server = await startNotifyServer({ relay, config: serveConfig, log, clock: systemClock });
  // Handler first, then the announcement: SIGTERM may come the moment "listening" is read.
  onShutdown(() => server.close(), { log });
  log.info(
    { host: serveConfig.host, port: server.port },
    'listening for bucket notifications on POST /notify',
  );
  return new Promise<number>(() => {});
}

async function status(flags: Flags): Promise<number> {
  const watchConfig = loadWatchConfig(process.env, { bucket: flags.bucket, stateFile: flags.state });
  const state = await loadState(watchConfig.stateFile, watchConfig.bucket, watchConfig.prefix);
  const rejected = Object.fromEntries(
    Object.entries(state.settled).filter(([, e]) => e.outcome === 'rejected'),
  );
  const summary = {
    watermark: state.watermark,
    settled: Object.keys(state.settled).length,
    pending: state.pending,
    rejected,
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return 0;
}

class UsageError extends Error {}
/** An input the command cannot use (a replay file missing, not JSON, not an event): its message, exit 1. */
class InputError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values: flags, positionals } = parseCliArgs({ args: argv, options, allowPositionals: true });
  const [command, ...rest] = positionals;
  if (flags.help || command === undefined || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && !flags.help ? 2 : 0;
  }
  // `watch`/`serve` log to stdout (journald/Docker); one-shot commands keep stdout for their JSON result.
  // Checked before the logger is made: pino answers a bad level with a stack trace (exit 1 unexplained).
  const log = createLogger({
    name: 'cti-relay',
    level: loadLogLevel(process.env),
    ...(command !== 'watch' && command !== 'serve' && { destination: pino.destination(2) }),
  });
  if (command === 'watch') return watch(flags, log);
  if (command === 'serve') return serve(flags, log);
  if (command === 'once') return once(rest, flags, log);
  if (command === 'replay') return replay(rest, flags, log);
  if (command === 'status') return status(flags);
  throw new UsageError(`unknown command ${JSON.stringify(command)}`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const usage =
      error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const message =
      error instanceof ConfigError || error instanceof InputError || error instanceof StateFileError || usage
        ? (error as Error).message
        : String((error as Error).stack ?? error);
    process.stderr.write(`cti-relay: ${message}\n${usage ? `\n${USAGE}\n` : ''}`);
    process.exit(usage ? 2 : 1);
  },
);
