import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { SessionStore } from '../auth/session-store.ts';
import type { SignIn } from '../auth/sign-in.ts';
import type { SignInThrottle } from '../auth/sign-in-throttle.ts';
import type { AppConfig } from '../config.ts';
import type { UrlSigner } from '../storage/url-signer.ts';

/** What the JSON API's route factories receive (createApp builds it). */
export type ApiDeps = {
  sql: Sql;
  config: AppConfig;
  log: Logger;
  /** undefined when S3 is not configured: asset URLs are then null. */
  signer: UrlSigner | undefined;
  /** S3 for reading images and writing corrections' masks; undefined when S3 is not configured. */
  s3: S3Client | undefined;
  sessions: SessionStore;
  throttle: SignInThrottle;
  signIn: SignIn;
};
