export { createLocalS3Client, type LocalS3ClientOptions } from './s3-client.ts';
export { type LocalS3, type S3CreatedEvent, type StartS3rverOptions, startS3rver } from './s3rver.ts';
export { type WaitForOptions, waitFor } from './wait-for.ts';
