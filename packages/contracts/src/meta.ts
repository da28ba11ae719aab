import type { FromSchema } from 'json-schema-to-ts';
import { compileValidator } from './compile-validator.ts';
import { metaSchema } from './meta-schema.ts';
import { SEMVER_PATTERN } from './patterns.ts';
import type { Problem, ValidationResult } from './problems.ts';
import { unstorableTextProblems } from './unstorable-text.ts';

/** The meta.json version this build writes. It reads any 1.x.y. */
export const META_VERSION = '1.0.0';

/** The major version this build reads; others are rejected before schema validation. */
export const SUPPORTED_META_MAJOR = 1;

/** A valid meta.json v1 document, derived from `metaSchema` so the two cannot drift. */
export type MetaJson = FromSchema<typeof metaSchema>;

const validateMetaSchema = compileValidator<MetaJson>(metaSchema);
const semver = new RegExp(SEMVER_PATTERN);

/** A meta_version with another major is a different contract: say so instead of listing field errors. */
function unsupportedMajor(data: unknown): Problem | null {
  if (typeof data !== 'object' || data === null) return null;
  const version = (data as { meta_version?: unknown }).meta_version;
  if (typeof version !== 'string') return null;
  const match = semver.exec(version);
  if (!match || Number(match[1]) === SUPPORTED_META_MAJOR) return null;
  return {
    pointer: '/meta_version',
    message: `unsupported major version ${match[1]} (this build reads ${SUPPORTED_META_MAJOR}.x)`,
  };
}

/**
 * captured_at names the S3 directory, so it must be an instant the layout can place: JavaScript
 * cannot represent a leap second (":60"), and the layout's years are 1970-9999.
 */
function capturedAtProblem(capturedAt: string): Problem | null {
  const date = new Date(capturedAt);
  if (Number.isNaN(date.getTime())) {
    return {
      pointer: '/captured_at',
      message: 'must be a representable UTC time (leap second :60 is not accepted)',
    };
  }
  if (date.getUTCFullYear() < 1970) {
    return { pointer: '/captured_at', message: 'must not be before 1970-01-01T00:00:00Z' };
  }
  return null;
}

/** Rules that span fields, which JSON Schema cannot state readably. */
function semanticProblems(meta: MetaJson): Problem[] {
  const problems: Problem[] = [];
  const timeProblem = capturedAtProblem(meta.captured_at);
  if (timeProblem) problems.push(timeProblem);
  const bbox = meta.inference_summary?.ribeye_bbox;
  if (bbox) {
    const [xMin = 0, yMin = 0, xMax = 0, yMax = 0] = bbox;
    const at = '/inference_summary/ribeye_bbox';
    if (xMin >= xMax) problems.push({ pointer: `${at}/2`, message: `x_max must be > x_min (${xMin})` });
    if (yMin >= yMax) problems.push({ pointer: `${at}/3`, message: `y_max must be > y_min (${yMin})` });
  }
  const maskFile = meta.files.mask_relpath ?? null;
  const maskHash = meta.mask_sha256 ?? null;
  if (maskFile !== null && maskHash === null) {
    problems.push({
      pointer: '/mask_sha256',
      message: 'must be a sha256 digest when files.mask_relpath is set',
    });
  }
  if (maskFile === null && maskHash !== null) {
    problems.push({ pointer: '/mask_sha256', message: 'must be null when files.mask_relpath is null' });
  }
  if (maskFile !== null && maskFile === meta.files.image_relpath) {
    problems.push({ pointer: '/files/mask_relpath', message: 'must differ from files.image_relpath' });
  }
  (meta.files.extra ?? []).forEach((name, i) => {
    if ([meta.files.image_relpath, maskFile, 'meta.json'].includes(name)) {
      problems.push({ pointer: `/files/extra/${i}`, message: `must not repeat ${JSON.stringify(name)}` });
    }
  });
  return problems;
}

/**
 * Validate a parsed meta.json: major version, the v1 schema, then cross-field rules
 * (bbox x_min < x_max and y_min < y_max; mask_sha256 null iff files.mask_relpath null), and no
 * U+0000 or unpaired surrogate in any string or property name (Postgres cannot store them as sent;
 * the server refuses them).
 * Unknown properties are accepted (additive evolution within major 1).
 *
 * @example
 * const r = validateMeta(JSON.parse(text));
 * if (!r.ok) console.error(r.problems.map(formatProblem).join('\n'));
 */
export function validateMeta(data: unknown): ValidationResult<MetaJson> {
  const major = unsupportedMajor(data);
  if (major) return { ok: false, problems: [major] };
  const text = unstorableTextProblems(data);
  const result = validateMetaSchema(data);
  if (!result.ok) return { ok: false, problems: [...result.problems, ...text] };
  const problems = [...text, ...semanticProblems(result.value)];
  return problems.length === 0 ? result : { ok: false, problems };
}
