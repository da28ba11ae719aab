// Public surface of @cti/relay. The Lambda bundle's entry is lambda.ts (`handler`); `cti-relay` is cli.ts.
export { type Clock, systemClock } from './clock.ts';
export {
  ConfigError,
  loadRelayConfig,
  loadWatchConfig,
  type RelayConfig,
  type WatchConfig,
} from './config.ts';
export { createHandler, handler, type LambdaContext, RelayBatchError } from './lambda.ts';
export { createWatcher, type Watcher, type WatcherOptions } from './local/watcher.ts';
export {
  createRelay,
  type Relay,
  type RelayObjectOptions,
  type RelayOptions,
  type RelayOutcome,
  type RelayTarget,
} from './relay-core.ts';
export { createRelayFactory, createS3Client } from './relay-from-env.ts';
export { decodeS3Key, targetsFromEvent } from './s3-events.ts';
export { createWebhookClient, type DeliveryOutcome } from './webhook-client.ts';
