/**
 * `cti-agent run` could not start, for a reason its message names with the fix (another owner, a
 * read-only data directory, the local port taken). The CLI prints the message alone and exits 1.
 */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

/** Another `cti-agent run` (the service, most often) holds the data directory's owner lock. */
export class OwnerLockedError extends StartupError {
  readonly dataDir: string;
  /** The owner's pid as it recorded it, null when it could not be read. */
  readonly pid: number | null;

  constructor(dataDir: string, pid: number | null) {
    super(
      `another cti-agent run owns ${dataDir} (pid ${pid ?? 'unknown'}); nothing was opened. ` +
        'Fix: the service is running (`systemctl status cti-agent`; logs: `journalctl -u cti-agent -f`); ' +
        'stop it first (`sudo systemctl stop cti-agent`) to run the agent by hand. `cti-agent status`, ' +
        '`capture` and `outbox …` work beside it',
    );
    this.name = 'OwnerLockedError';
    this.dataDir = dataDir;
    this.pid = pid;
  }
}
