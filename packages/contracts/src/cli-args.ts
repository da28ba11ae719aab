import { type ParseArgsConfig, parseArgs } from 'node:util';

// Shared by the cti-* programs (cti-contracts, cti-relay, cti-models, cti-agent, cti-phantom). Its own
// export path (@cti/contracts/cli-args) so a program importing it does not load Ajv and the schemas.

/**
 * An option the command does not take. Carries parseArgs' own code, so a program that already treats
 * `ERR_PARSE_ARGS_*` as a usage error (exit 2 with the usage) needs no change to catch it.
 */
export class UnknownOptionError extends Error {
  override name = 'UnknownOptionError';
  readonly code = 'ERR_PARSE_ARGS_UNKNOWN_OPTION';
  readonly option: string;
  constructor(option: string) {
    super(`unknown option ${JSON.stringify(option)}`);
    this.option = option;
  }
}

/**
 * `parseArgs` (strict) whose unknown-option refusal is the short `unknown option "--x"` that cti-agent
 * and cti-db print, not Node's paragraph about `--`. Options after `--` stay positionals.
 *
 * @example
 * const { values, positionals } = parseCliArgs({ args: argv, options: { secret: { type: 'string' } },
 *   allowPositionals: true }); // '--sceret' throws UnknownOptionError: unknown option "--sceret"
 */
export function parseCliArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  const known = config.options ?? {};
  const { tokens = [] } = parseArgs({ ...config, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'option' && !Object.hasOwn(known, token.name))
      throw new UnknownOptionError(token.rawName);
  }
  return parseArgs(config);
}
