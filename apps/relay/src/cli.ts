#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { text as readStream } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import { createLogger, type Logger, onShutdown } from '@cti/runtime';
import { pino } from 'pino';
import { systemClock } from './clock.ts';
import { ConfigError, loadRelayConfig, loadWatchConfig } from './config.ts';
import { loadState } from './local/watch-state.ts';
import { createWatcher } from './local/watcher.ts';
import type { Relay, RelayTarget } from './relay-core.ts';
import { createRelayFactory } from './relay-from-env.ts';
import { targetsFromEvent } from './s3-events.ts';

const USAGE = `Usage:
  cti-relay watch [--bucket B] [--state FILE] [--poll-ms N] [--retry-rejected]
      Poll the bucket for new raw/**/meta.json and relay each finished capture (local mode).
      --retry-rejected relays captures the server rejected before again (e.g. after fixing a secret).
  cti-relay once <bucket> <key> [--budget-ms N]
      Relay one object now (ops replay, e.g. from the dead-letter queue). Prints the outcome as JSON;
      exit 0 when delivered or ignored, 1 when rejected, incomplete or failed.
  cti-relay replay <file|-> [--budget-ms N]
      Re-run an event from a file or stdin: an EventBridge/S3 event, or a dead-letter message from the
      Lambda's on-failure destination (its requestPayload). One JSON line per object; exit as for once.
  cti-relay status [--bucket B] [--state FILE]
      Print the watcher's pending and rejected captures from its state file.

Configuration comes from the environment (CTI_WEBHOOK_URL, CTI_WEBHOOK_SECRETS, S3_ENDPOINT,
AWS_REGION, CTI_RELAY_*); see apps/relay/README.md.`;

const options = {
  bucket: { type: 'string' },
  state: { type: 'string' },
  'poll-ms': { type: 'string' },
  'budget-ms': { type: 'string' },
  'retry-rejected': { type: 'boolean' },
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
  await watcher.start();
  onShutdown(() => watcher.stop(), { log });
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
  const [bucket, key] = positionals;
  if (!bucket || !key || positionals.length > 2) throw new UsageError('once needs exactly <bucket> <key>');
  return relayTargets([{ bucket, key }], flags, log);
}

/** Re-run an event: a raw EventBridge/S3 event or a DLQ message from Lambda's on-failure destination. */
async function replay(positionals: string[], flags: Flags, log: Logger): Promise<number> {
  const [file] = positionals;
  if (!file || positionals.length > 1)
    throw new UsageError('replay needs exactly one <file> (or - for stdin)');
  const source = file === '-' ? await readStream(process.stdin) : await readFile(file, 'utf8');
  let data: { requestPayload?: unknown };
  try {
    data = JSON.parse(source);
  } catch (error) {
    throw new Error(`${file} is not JSON: ${(error as Error).message}`);
  }
  // Lambda destinations wrap the original event as requestPayload (with the error as responsePayload).
  const { targets } = targetsFromEvent(data.requestPayload ?? data);
  return relayTargets(targets, flags, log);
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

async function main(argv: string[]): Promise<number> {
  const { values: flags, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
  const [command, ...rest] = positionals;
  if (flags.help || command === undefined || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && !flags.help ? 2 : 0;
  }
  // `watch` logs to stdout (journald/Docker); one-shot commands keep stdout for their JSON result.
  const log = createLogger({
    name: 'cti-relay',
    ...(command !== 'watch' && { destination: pino.destination(2) }),
  });
  if (command === 'watch') return watch(flags, log);
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
      error instanceof ConfigError || usage
        ? (error as Error).message
        : String((error as Error).stack ?? error);
    process.stderr.write(`cti-relay: ${message}\n${usage ? `\n${USAGE}\n` : ''}`);
    process.exit(usage ? 2 : 1);
  },
);
