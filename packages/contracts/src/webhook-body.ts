import type { FromSchema } from 'json-schema-to-ts';
import { compileValidator } from './compile-validator.ts';
import { type MetaJson, validateMeta } from './meta.ts';
import type { metaSchema } from './meta-schema.ts';
import { joinPointer, type Problem, type ValidationResult } from './problems.ts';
import { META_FILE, parseRawKey, rawCaptureDir } from './s3-layout.ts';
import { webhookBodySchema } from './webhook-body-schema.ts';

/**
 * How deep a webhook body may nest objects/arrays (the root is depth 0): the server refuses deeper
 * bodies with a 422, and the relay refuses a meta.json that would cross it (meta_json sits one level
 * down). The contracts need 4 levels; unknown properties are accepted (additive changes), so the
 * limit is what keeps a 200 kB body of nested arrays from overflowing a recursive walk.
 */
export const WEBHOOK_MAX_JSON_DEPTH = 64;

/** A valid webhook body, derived from `webhookBodySchema` (meta_json typed as MetaJson). */
export type WebhookBody = FromSchema<typeof webhookBodySchema, { references: [typeof metaSchema] }>;
/** One entry of `object_details`: a listed object's size (from HEAD) and sha256 when the relay hashed it. */
export type WebhookObjectDetail = NonNullable<WebhookBody['object_details']>[number];

// The envelope is checked on its own so meta_json gets validateMeta's full treatment (major version,
// cross-field rules) with its problems re-rooted under /meta_json. Copy without $id: the published
// schema keeps its own id in the shared Ajv instance.
const { $id: _id, ...envelopeSchema } = webhookBodySchema;
const validateEnvelope = compileValidator<Omit<WebhookBody, 'meta_json'>>({
  ...envelopeSchema,
  properties: { ...webhookBodySchema.properties, meta_json: { type: 'object' } },
});

function metaProblems(meta: unknown): Problem[] {
  const result = validateMeta(meta);
  return result.ok ? [] : result.problems.map((p) => ({ ...p, pointer: `/meta_json${p.pointer}` }));
}

function keyProblems(body: WebhookBody): Problem[] {
  let keyDevice: string;
  try {
    keyDevice = parseRawKey(body.ingest_key).deviceCode;
  } catch (error) {
    return [
      {
        pointer: '/ingest_key',
        message: `must be a valid raw capture directory (${(error as Error).message})`,
      },
    ];
  }
  const problems: Problem[] = [];
  const meta = body.meta_json;
  if (body.device_code !== keyDevice) {
    problems.push({
      pointer: '/device_code',
      message: `must equal the device_code in ingest_key (${JSON.stringify(keyDevice)})`,
    });
  }
  if (meta.device_code !== body.device_code) {
    problems.push({
      pointer: '/meta_json/device_code',
      message: `must equal device_code (${JSON.stringify(body.device_code)})`,
    });
  }
  // validateMeta has already checked every part rawCaptureDir needs, so this cannot throw.
  const expectedDir = rawCaptureDir({
    deviceCode: meta.device_code,
    capturedAt: meta.captured_at,
    captureId: meta.capture_id,
  });
  if (body.ingest_key !== expectedDir) {
    problems.push({
      pointer: '/ingest_key',
      message: `must be ${JSON.stringify(expectedDir)} (meta_json's device_code, captured_at UTC date and capture_id)`,
    });
  }
  return problems;
}

function namedFiles(meta: MetaJson): [string, string][] {
  const named: [string, string][] = [[meta.files.image_relpath, 'meta_json.files.image_relpath']];
  if (meta.files.mask_relpath) named.push([meta.files.mask_relpath, 'meta_json.files.mask_relpath']);
  (meta.files.extra ?? []).forEach((name, i) => {
    named.push([name, `meta_json.files.extra[${i}]`]);
  });
  return named;
}

function objectProblems(body: WebhookBody): Problem[] {
  const problems: Problem[] = [];
  for (const [name, source] of namedFiles(body.meta_json)) {
    if (!body.objects.includes(name)) {
      problems.push({ pointer: '/objects', message: `must include ${JSON.stringify(name)} (${source})` });
    }
  }
  return problems;
}

/** The hash a listed object must have, when something else in the body already states it. */
function expectedHashes(body: WebhookBody): Map<string, [string, string]> {
  const expected = new Map<string, [string, string]>();
  const meta = body.meta_json;
  expected.set(meta.files.image_relpath, [meta.image_sha256, 'meta_json.image_sha256']);
  if (meta.files.mask_relpath && meta.mask_sha256) {
    expected.set(meta.files.mask_relpath, [meta.mask_sha256, 'meta_json.mask_sha256']);
  }
  if (body.meta_sha256) expected.set(META_FILE, [body.meta_sha256, 'meta_sha256']);
  return expected;
}

function detailProblems(body: WebhookBody): Problem[] {
  const problems: Problem[] = [];
  const expected = expectedHashes(body);
  const seen = new Set<string>();
  (body.object_details ?? []).forEach((detail, i) => {
    const at = joinPointer('/object_details', i);
    if (!body.objects.includes(detail.name)) {
      problems.push({
        pointer: `${at}/name`,
        message: `must be one of objects (${JSON.stringify(detail.name)} is not listed)`,
      });
    }
    if (seen.has(detail.name))
      problems.push({
        pointer: `${at}/name`,
        message: `duplicates an earlier entry for ${JSON.stringify(detail.name)}`,
      });
    seen.add(detail.name);
    const [hash, source] = expected.get(detail.name) ?? [];
    if (hash && detail.sha256 !== null && detail.sha256 !== hash) {
      problems.push({ pointer: `${at}/sha256`, message: `must equal ${source} (${hash})` });
    }
    if (
      detail.name === META_FILE &&
      body.meta_size_bytes !== undefined &&
      detail.size_bytes !== body.meta_size_bytes
    ) {
      problems.push({
        pointer: `${at}/size_bytes`,
        message: `must equal meta_size_bytes (${body.meta_size_bytes})`,
      });
    }
  });
  return problems;
}

/**
 * Validate a parsed webhook body: the envelope schema, `meta_json` via validateMeta (problems under
 * /meta_json/...), then agreement between the parts: ingest_key is the layout directory of meta_json
 * (device_code, UTC date of captured_at, capture_id); device_code agrees; objects contain meta.json and
 * every file meta_json names; object_details name listed objects and agree with the stated hashes.
 *
 * @example
 * const r = validateWebhookBody(JSON.parse(rawBody));
 * if (!r.ok) return c.json({ problems: r.problems }, 422);
 */
export function validateWebhookBody(data: unknown): ValidationResult<WebhookBody> {
  const envelope = validateEnvelope(data);
  const meta =
    typeof data === 'object' && data !== null ? (data as { meta_json?: unknown }).meta_json : undefined;
  const problems = [
    ...(envelope.ok ? [] : envelope.problems),
    ...(typeof meta === 'object' && meta !== null ? metaProblems(meta) : []),
  ];
  if (problems.length > 0) return { ok: false, problems };
  const body = data as WebhookBody;
  const crossProblems = [...keyProblems(body), ...objectProblems(body), ...detailProblems(body)];
  return crossProblems.length === 0 ? { ok: true, value: body } : { ok: false, problems: crossProblems };
}
