import { readFileSync } from 'node:fs';
import { parseCliArgs, UnknownOptionError } from './cli-args.ts';
import { validateMeta } from './meta.ts';
import { metaSchema } from './meta-schema.ts';
import { formatProblem, type ValidationResult } from './problems.ts';
import { unknownFields } from './unknown-fields.ts';
import { validateWebhookBody } from './webhook-body.ts';
import { webhookBodySchema } from './webhook-body-schema.ts';
import { signWebhook } from './webhook-signature.ts';

export const USAGE = `Usage:
  cti-contracts validate meta <file>       validate a meta.json (v1.x)
  cti-contracts validate webhook <file>    validate a webhook body (relay → server)
  cti-contracts sign --secret <s> [--timestamp <unix-seconds>] <body-file>
                                           print the X-CTI-Timestamp and X-CTI-Signature headers
  cti-contracts --help

<file> may be '-' for standard input.
Exit codes: 0 valid / signed, 1 invalid document (one "pointer: problem" line each), 2 usage error,
unreadable file or malformed JSON.`;

/** Where the CLI writes; the spawned program passes process streams, nothing else is global. */
export type CliIo = {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  readFile: (path: string) => Buffer;
};

export const processIo: CliIo = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  readFile: (path) => readFileSync(path === '-' ? 0 : path),
};

/** A failure that ends the command with exit code 2 and a message on stderr. */
class UsageFailure extends Error {
  readonly showUsage: boolean;

  constructor(message: string, showUsage = true) {
    super(message);
    this.showUsage = showUsage;
  }
}

function readInput(io: CliIo, path: string): Buffer {
  try {
    return io.readFile(path);
  } catch (error) {
    throw new UsageFailure(
      `cannot read ${path === '-' ? 'standard input' : path}: ${(error as Error).message}`,
      false,
    );
  }
}

function readJson(io: CliIo, path: string): unknown {
  // Editors on some consoles save UTF-8 with a byte-order mark; JSON.parse would reject it.
  const text = readInput(io, path)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageFailure(`${path} is not valid JSON: ${(error as Error).message}`, false);
  }
}

const kinds: Record<string, { validate: (data: unknown) => ValidationResult<unknown>; schema: object }> = {
  meta: { validate: validateMeta, schema: metaSchema },
  webhook: { validate: validateWebhookBody, schema: webhookBodySchema },
};

function validateCommand(io: CliIo, args: string[]): number {
  const { positionals } = parseCliArgs({ args, allowPositionals: true, strict: true });
  const [kind = '', file, ...rest] = positionals;
  const entry = kinds[kind];
  if (!entry || file === undefined || rest.length > 0)
    throw new UsageFailure('expected: validate meta|webhook <file>');
  const data = readJson(io, file);
  const result = entry.validate(data);
  if (!result.ok) {
    for (const problem of result.problems) io.stdout(formatProblem(problem));
    return 1;
  }
  for (const pointer of unknownFields(entry.schema, data)) {
    io.stderr(
      `warning: ${pointer}: unknown property, accepted for forward compatibility but not read by this build`,
    );
  }
  io.stdout('valid');
  return 0;
}

function signCommand(io: CliIo, args: string[]): number {
  const { values, positionals } = parseCliArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: { secret: { type: 'string' }, timestamp: { type: 'string' } },
  });
  const [file, ...rest] = positionals;
  if (!values.secret || file === undefined || rest.length > 0) {
    throw new UsageFailure('expected: sign --secret <s> [--timestamp <unix-seconds>] <body-file>');
  }
  if (values.timestamp !== undefined && !/^\d{1,12}$/.test(values.timestamp)) {
    throw new UsageFailure(
      `--timestamp must be unix seconds (digits only), got ${JSON.stringify(values.timestamp)}`,
    );
  }
  const body = readInput(io, file);
  const timestamp = values.timestamp === undefined ? undefined : Number(values.timestamp);
  const headers = signWebhook({ body, secret: values.secret, timestamp });
  for (const [name, value] of Object.entries(headers)) io.stdout(`${name}: ${value}`);
  return 0;
}

/**
 * Run one `cti-contracts` invocation and return its exit code. Never throws for bad input:
 * usage errors, unreadable files and malformed JSON print to stderr and return 2.
 */
export function runCli(argv: readonly string[], io: CliIo = processIo): number {
  const [command, ...args] = argv;
  try {
    if (command === '--help' || command === '-h' || command === 'help') {
      io.stdout(USAGE);
      return 0;
    }
    if (command === 'validate') return validateCommand(io, args);
    if (command === 'sign') return signCommand(io, args);
    if (command?.startsWith('-')) throw new UnknownOptionError(command);
    throw new UsageFailure(
      command === undefined ? 'missing command' : `unknown command ${JSON.stringify(command)}`,
    );
  } catch (error) {
    // parseArgs rejects unknown options and missing option values with ERR_PARSE_ARGS_* codes.
    const parseError = String((error as NodeJS.ErrnoException).code ?? '').startsWith('ERR_PARSE_ARGS');
    io.stderr(`cti-contracts: ${(error as Error).message}`);
    if (parseError || (error instanceof UsageFailure && error.showUsage)) io.stderr(USAGE);
    return 2;
  }
}
