// s3rver ships no type declarations; this covers the part of its API the testkit uses.
declare module 's3rver' {
  import type { EventEmitter } from 'node:events';

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    configureBuckets?: { name: string; configs: unknown[] }[];
  }
  class S3rver extends EventEmitter {
    constructor(options: S3rverOptions);
    run(): Promise<unknown>;
    /** With a callback: starts and returns the http.Server (run() calls it without one). */
    listen(...args: unknown[]): import('node:http').Server;
    close(): Promise<void>;
  }
  export default S3rver;
}
