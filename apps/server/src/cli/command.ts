/**
 * One `cti-server` sub-command. `run` returns an exit status, or undefined for a long-running command
 * (serve, worker) that ends through its own shutdown handling.
 */
export type ServerCommand = {
  /** One line for `cti-server --help`, after the command's usage. */
  usage: string;
  run(args: string[]): Promise<number | undefined>;
};

/** Exit status for a bad configuration (sysexits EX_CONFIG), so supervisors can tell it from a crash. */
export const EXIT_CONFIG = 78;
/** Exit status for a bad command line (usage error). */
export const EXIT_USAGE = 2;
