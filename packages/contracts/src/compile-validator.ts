import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { metaSchema } from './meta-schema.ts';
import { joinPointer, type Problem, uniqueProblems, type ValidationResult } from './problems.ts';

// ajv-formats is CommonJS; under NodeNext its default import is typed as the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/**
 * One Ajv instance for the package: compiled validators are pure functions, so sharing the
 * instance (and its schema cache) at module scope does no I/O and keeps compilation to once per schema.
 * `allErrors` so a document reports every problem at once; `verbose` so messages can read the schema.
 */
const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
addFormats(ajv);
narrowDateFormats();
ajv.addKeyword({ keyword: 'x-expected', schemaType: 'string' });
// Registered up front so other schemas (the webhook body) can `$ref` meta.json by its $id.
ajv.addSchema(metaSchema);

/**
 * RFC 3339 has a year 0000; Postgres has none, so a date or date-time in it fails here as "must be a
 * valid date/date-time", never later in a query as a 500. (Leap seconds are left to each schema's
 * own check: meta.json names them.)
 */
function narrowDateFormats(): void {
  for (const name of ['date', 'date-time'] as const) {
    const base = ajv.formats[name] as {
      validate: (v: string) => boolean;
      compare: (a: string, b: string) => number;
    };
    ajv.addFormat(name, {
      type: 'string',
      validate: (v: string) => base.validate(v) && !v.startsWith('0000'),
      compare: base.compare,
    });
  }
}

type AjvError = ErrorObject<string, Record<string, unknown>, unknown>;

function expectedHint(error: AjvError): string | undefined {
  const hint = error.parentSchema?.['x-expected'];
  return typeof hint === 'string' ? `must be ${hint}` : undefined;
}

function list(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

const messages: Record<string, (e: AjvError, p: Record<string, unknown>) => string> = {
  type: (_e, p) => `must be ${String(p.type).split(',').join(' or ')}`,
  enum: (_e, p) => `must be one of ${list(p.allowedValues as unknown[])}`,
  const: (_e, p) => `must be ${JSON.stringify(p.allowedValue)}`,
  pattern: (e, p) => expectedHint(e) ?? `must match the pattern ${String(p.pattern)}`,
  format: (e, p) => expectedHint(e) ?? `must be a valid ${String(p.format)}`,
  contains: (e, p) =>
    expectedHint(e) ?? `must contain at least ${plural(Number(p.minContains), 'matching item')}`,
  minLength: (_e, p) =>
    p.limit === 1 ? 'must not be empty' : `must be at least ${plural(Number(p.limit), 'character')} long`,
  maxLength: (_e, p) => `must be at most ${plural(Number(p.limit), 'character')} long`,
  minItems: (_e, p) => `must have at least ${plural(Number(p.limit), 'item')}`,
  maxItems: (_e, p) => `must have at most ${plural(Number(p.limit), 'item')}`,
  uniqueItems: (_e, p) => {
    const [a, b] = [Number(p.i), Number(p.j)].sort((x, y) => x - y);
    return `must not contain duplicates (items ${a} and ${b} are equal)`;
  },
  minProperties: (_e, p) => `must have at least ${plural(Number(p.limit), 'property')}`,
  maxProperties: (_e, p) => `must have at most ${plural(Number(p.limit), 'property')}`,
  // ajv-formats' bounds on a date or date-time ("should be >= …" otherwise, unlike every other message).
  formatMinimum: (e, p) => expectedHint(e) ?? `must be ${String(p.comparison)} ${String(p.limit)}`,
  formatMaximum: (e, p) => expectedHint(e) ?? `must be ${String(p.comparison)} ${String(p.limit)}`,
  formatExclusiveMinimum: (e, p) => expectedHint(e) ?? `must be ${String(p.comparison)} ${String(p.limit)}`,
  formatExclusiveMaximum: (e, p) => expectedHint(e) ?? `must be ${String(p.comparison)} ${String(p.limit)}`,
};

/** Convert one Ajv error into a Problem whose pointer names the offending value itself. */
export function problemFromAjvError(error: AjvError): Problem {
  const p = error.params;
  switch (error.keyword) {
    case 'required':
      return { pointer: joinPointer(error.instancePath, String(p.missingProperty)), message: 'is required' };
    case 'dependentRequired':
      return {
        pointer: joinPointer(error.instancePath, String(p.missingProperty)),
        message: `is required when ${JSON.stringify(p.property)} is present`,
      };
    case 'additionalProperties':
      return {
        pointer: joinPointer(error.instancePath, String(p.additionalProperty)),
        message: 'is not an allowed property',
      };
    case 'unevaluatedProperties':
      return {
        pointer: joinPointer(error.instancePath, String(p.unevaluatedProperty)),
        message: 'is not an allowed property',
      };
  }
  const format = messages[error.keyword];
  return {
    pointer: error.instancePath,
    message: format ? format(error, p) : (error.message ?? 'is invalid'),
  };
}

/** Problems for every Ajv error, in document order of discovery, without exact duplicates. */
export function problemsFromAjvErrors(errors: readonly AjvError[] | null | undefined): Problem[] {
  // `if`/`anyOf`/`oneOf` wrappers only repeat what their sub-errors already said; the sub-errors of a
  // failed `contains` ("/objects/0: must be ...") are noise next to the contains error itself.
  const meaningful = (errors ?? []).filter(
    (e) => !['if', 'anyOf', 'oneOf'].includes(e.keyword) && !e.schemaPath.includes('/contains/'),
  );
  return uniqueProblems(meaningful.map(problemFromAjvError));
}

/** Validators made by compileValidator whose schema has not been compiled yet (compileAllValidators). */
const uncompiled: (() => unknown)[] = [];

/**
 * Compiles now every validator made so far (the package's own — meta.json, the webhook body, the
 * heartbeat, the agent config — and any other module's already imported): a long-running process calls
 * it at start, so its first webhook or capture does not pay the compilation (~0.1–0.3 s; more on a Pi).
 * Throws the first schema Ajv refuses.
 */
export function compileAllValidators(): void {
  while (uncompiled.length > 0) {
    uncompiled[0]!();
    uncompiled.shift();
  }
}

/**
 * Compile a JSON Schema (draft 2020-12) once and return a validator producing `ValidationResult<T>`
 * with readable, pointer-named problems. The schema is compiled on the validator's first call, not
 * here: the package's validators are made at module scope, and compiling them all cost every process
 * that imports the package ~0.3 s (a CLI command, each test file, a spawned server) whether it
 * validated anything or not. The contract tests call every validator, so a schema Ajv refuses still
 * fails the build's tests, not a first request; servers and the agent call compileAllValidators() at
 * start. The schema may use formats from ajv-formats, the `x-expected`
 * annotation (message used for pattern/format/contains and format bound failures) and `$ref` to meta.json's `$id`.
 *
 * @example
 * const validateConfig = compileValidator<AgentConfig>(agentConfigSchema); // once, at module scope
 * const r = validateConfig(JSON.parse(text));
 * if (!r.ok) throw new Error(r.problems.map(formatProblem).join('\n'));
 */
export function compileValidator<T>(schema: object): (data: unknown) => ValidationResult<T> {
  let validate: ValidateFunction | undefined;
  const compile = () => {
    validate ??= ajv.compile(schema);
    return validate;
  };
  uncompiled.push(compile);
  return (data: unknown): ValidationResult<T> => {
    const validate = compile();
    if (validate(data)) return { ok: true, value: data as T };
    return { ok: false, problems: problemsFromAjvErrors(validate.errors as AjvError[]) };
  };
}
