import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { processedObjectKey } from '@cti/contracts';
import {
  declaredImageSize,
  decodeRaster,
  type GrayImage,
  ImageDecodeError,
  MAX_IMAGE_PIXELS,
  toGray,
} from '@cti/imaging';
import {
  type CropBox,
  encodeMaskPng,
  findScanArea,
  type PixelAspectSource,
  type PixelSpacingSource,
} from '@cti/models';
import type { Sql } from 'postgres';
import type { Principal } from '../auth/principal.ts';
import { forbidden, unauthenticated } from '../auth/session-middleware.ts';
import type { SessionStore } from '../auth/session-store.ts';
import { HttpError } from '../errors.ts';
import { GRADING_RULES_VERSION } from '../grading/grade-image.ts';
import { GradingError } from '../grading/grading-errors.ts';
import {
  IMAGE_BYTE_LIMIT,
  putObject,
  readVerifiedObject,
  type StoredObject,
  sha256Hex,
} from '../grading/object-store.ts';
import { UUID_RE } from '../text/uuid.ts';
import { CORRECTION_RULES_VERSION, gradeCorrection } from './correction-grading.ts';
import { checkMaskSize, cleanMask, decodeMaskPng, maskPngSize } from './correction-mask.ts';
import { renderCorrectionOverlay } from './correction-overlay.ts';
import { CorrectionProblem, invalidCorrection } from './correction-problem.ts';
import {
  type CorrectionTarget,
  correctionState,
  loadCorrectionTarget,
  lockScan,
  type PriorResult,
  writeCorrection,
} from './correction-store.ts';
import { parseFatLine } from './fat-line.ts';

const FIELDS = ['mask', 'fat_line', 'based_on_result_id'];
const SOURCES: readonly string[] = ['meta', 'device_calibration', 'ruler', 'none'];

export type CorrectionDeps = {
  sql: Sql;
  /** undefined when the server has no S3 settings: corrections answer 503. */
  s3: S3Client | undefined;
  /** Re-reads the author's session inside the transaction that records the correction. */
  sessions: Pick<SessionStore, 'check'>;
};

export type CorrectionOutcome = { resultId: string; scanId: string };

/** A correction by hand is a result written by a person (the worker leaves created_by NULL). */
export const isManual = (r: Pick<PriorResult, 'created_by' | 'model_name'>) =>
  r.created_by !== null || r.model_name === 'manual';

type Fields = { mask: Uint8Array; fatLine: string | null; basedOn: string | null };

/** The parts of the multipart body; every problem of their shape at once (422 naming them). */
async function readFields(form: FormData): Promise<Fields> {
  const problems: CorrectionProblem[] = [];
  for (const name of new Set(form.keys())) {
    if (!FIELDS.includes(name))
      problems.push(new CorrectionProblem(`/${name}`, 'is not a field of a correction'));
    else if (form.getAll(name).length > 1)
      problems.push(new CorrectionProblem(`/${name}`, 'must be given once'));
  }
  const mask = form.get('mask');
  if (mask === null)
    problems.push(new CorrectionProblem('/mask', 'is required: the corrected mask as a PNG file'));
  else if (typeof mask === 'string')
    problems.push(new CorrectionProblem('/mask', 'must be a file (a PNG), not text'));
  const line = form.get('fat_line');
  if (line !== null && typeof line !== 'string') {
    problems.push(new CorrectionProblem('/fat_line', 'must be text (JSON), not a file'));
  }
  const basedOn = form.get('based_on_result_id');
  if (basedOn !== null && (typeof basedOn !== 'string' || (basedOn !== '' && !UUID_RE.test(basedOn)))) {
    problems.push(new CorrectionProblem('/based_on_result_id', 'must be the id (uuid) of a grading result'));
  }
  if (problems.length > 0) throw invalidCorrection(problems);
  return {
    mask: new Uint8Array(await (mask as Blob).arrayBuffer()),
    fatLine: line as string | null,
    basedOn: basedOn ? (basedOn as string).toLowerCase() : null,
  };
}

/**
 * 409 `stale_base`: the result the person corrected is no longer the scan's latest (another correction
 * or a new grading was recorded meanwhile). Recording theirs would replace a result they never saw.
 */
const staleBase = (basedOn: string, latest: string | null) =>
  new HttpError(
    409,
    'stale_base',
    `the scan has a newer result (${latest}) than the one you corrected (${basedOn}): ` +
      'reload the page to see it, then correct that one',
  );

/** The result the correction starts from: the named one, which must be the latest, else the latest. */
function baseResult(target: CorrectionTarget, basedOn: string | null): PriorResult {
  if (basedOn !== null) {
    const named = target.results.find((r) => r.id === basedOn);
    if (!named)
      throw invalidCorrection([
        new CorrectionProblem('/based_on_result_id', 'is not a grading result of this scan'),
      ]);
    if (named !== target.results[0]) throw staleBase(named.id, target.results[0]!.id);
    return named;
  }
  const latest = target.results[0];
  if (!latest)
    throw new HttpError(409, 'not_graded', 'the scan has no grading result yet: there is nothing to correct');
  return latest;
}

/** The model result a chain of corrections started from: the base itself, or the one its lineage names. */
function modelResult(target: CorrectionTarget, base: PriorResult): PriorResult | null {
  if (!isManual(base)) return base;
  const lineage = base.features_used?.lineage as Record<string, unknown> | undefined;
  const named = target.results.find((r) => r.id === lineage?.model_result_id && !isManual(r));
  if (named) return named;
  const older = target.results.slice(target.results.indexOf(base) + 1);
  return older.find((r) => !isManual(r)) ?? null;
}

/** The problem for which the corrected result withheld its spacing (lineage.pixel_spacing.problem), if any. */
function spacingProblemOf(
  features: Record<string, unknown> | null,
): { reason: 'implausible_spacing' | 'spacing_conflict'; [k: string]: unknown } | null {
  const lineage = features?.lineage as { pixel_spacing?: { problem?: { reason?: unknown } } } | undefined;
  const problem = lineage?.pixel_spacing?.problem;
  return problem && (problem.reason === 'implausible_spacing' || problem.reason === 'spacing_conflict')
    ? (problem as { reason: 'implausible_spacing' | 'spacing_conflict' })
    : null;
}

/** The corrected result was graded without its capture's meta.json (lineage.meta_problem). */
function metaUnavailableIn(features: Record<string, unknown> | null): boolean {
  const lineage = features?.lineage as { meta_problem?: unknown } | undefined;
  return typeof lineage?.meta_problem === 'string';
}

/** The corrected result's pixel spacing, reused as it is (mm, source). */
function spacingOf(features: Record<string, unknown> | null): {
  mm: number | null;
  source: PixelSpacingSource;
} {
  const mm = features?.pixel_spacing_mm;
  if (typeof mm !== 'number' || !Number.isFinite(mm) || mm <= 0) return { mm: null, source: 'none' };
  const source = features?.pixel_spacing_source;
  return {
    mm,
    source: (typeof source === 'string' && SOURCES.includes(source)
      ? source
      : 'unknown') as PixelSpacingSource,
  };
}

const ASPECT_SOURCES: readonly string[] = ['meta', 'device_calibration', 'assumed_square'];

/**
 * The corrected result's pixel aspect (features_used.pixel_aspect and its source), reused as it is; a
 * result graded before aspects were recorded (none) was measured with square pixels: 1, assumed_square.
 */
function aspectOf(features: Record<string, unknown> | null): {
  value: number;
  source: PixelAspectSource;
} {
  const value = features?.pixel_aspect;
  const source = features?.pixel_aspect_source;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    return { value: 1, source: 'assumed_square' };
  return {
    value,
    source: (typeof source === 'string' && ASPECT_SOURCES.includes(source)
      ? source
      : 'unknown') as PixelAspectSource,
  };
}

/** The corrected result's image field, else the worker's own finding on the image. */
function scanAreaOf(features: Record<string, unknown> | null, gray: GrayImage): CropBox {
  const a = features?.scan_area;
  if (
    Array.isArray(a) &&
    a.length === 4 &&
    a.every((v) => Number.isInteger(v)) &&
    a[0] >= 0 &&
    a[1] >= 0 &&
    a[0] < a[2] &&
    a[1] < a[3] &&
    a[2] <= gray.width &&
    a[3] <= gray.height
  ) {
    return a as CropBox;
  }
  return findScanArea(gray);
}

/** The scan's image from S3, checked against assets.sha256 and decoded as the worker does. */
async function readImage(s3: S3Client, image: StoredObject): Promise<GrayImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readVerifiedObject(s3, image, IMAGE_BYTE_LIMIT);
  } catch (err) {
    if (!(err instanceof GradingError)) throw err;
    if (err.code === 's3_unavailable') {
      throw new HttpError(503, 'storage_unavailable', 'the image store is unavailable; try again shortly', {
        headers: { 'Retry-After': '5' },
        cause: err,
      });
    }
    const codes: Record<string, string> = {
      image_missing: 'the scan image is not in the store',
      sha256_mismatch:
        "the stored image's bytes differ from the sha256 recorded at ingest; it cannot be corrected",
      image_too_large: 'the scan image is too large to grade',
    };
    throw new HttpError(
      409,
      err.code === 'sha256_mismatch' ? 'image_mismatch' : err.code,
      codes[err.code] ?? err.message,
      {
        cause: err,
      },
    );
  }
  const tooLarge = () => new HttpError(409, 'image_too_large', 'the scan image is too large to grade');
  // From its header first, as the worker does: a 750 kB PNG can declare 16000×16000 (768 MB decoded).
  const declared = await declaredImageSize(bytes);
  if (declared && declared.width * declared.height > MAX_IMAGE_PIXELS) throw tooLarge();
  try {
    const raster = await decodeRaster(bytes);
    if (raster.width * raster.height > MAX_IMAGE_PIXELS) throw tooLarge();
    return toGray(raster);
  } catch (err) {
    if (err instanceof ImageDecodeError) {
      throw new HttpError(409, 'image_undecodable', 'the scan image cannot be decoded', { cause: err });
    }
    throw err;
  }
}

async function store(s3: S3Client, bucket: string, key: string, body: Buffer) {
  try {
    return await putObject(s3, { bucket, key, body, contentType: 'image/png' });
  } catch (err) {
    if (err instanceof GradingError && err.code === 's3_unavailable') {
      throw new HttpError(503, 'storage_unavailable', 'the image store is unavailable; try again shortly', {
        headers: { 'Retry-After': '5' },
        cause: err,
      });
    }
    throw err;
  }
}

/**
 * A correction by hand of scan `scanId` (POST /api/v1/scans/{id}/corrections), checked in this order:
 * the scan must exist for the principal (404, like another farm's) and be theirs to correct (403);
 * the form's fields (422 naming each); a grading result to correct (409 not_graded) and an image
 * (409 no_image); S3 configured (503); the mask decodes (422 /mask); the image read and checked
 * against its sha256 (409 / 503); the mask's size, emptiness and regions and the fat line against the
 * image (422). Then the features are recomputed with the worker's code, the mask and overlay written
 * to processed/{capture_id}/manual-{result id}-mask.png / -overlay.png (a key no worker output can
 * have), and everything recorded in one transaction. The model's result is never touched.
 */
export async function correctScan(
  deps: CorrectionDeps,
  principal: Principal,
  scanId: string,
  form: FormData,
): Promise<CorrectionOutcome> {
  const target = await loadCorrectionTarget(deps.sql, principal, scanId);
  if (!target) throw new HttpError(404, 'not_found', 'no scan with that id');
  if (!target.writable) throw forbidden('you may not correct scans of this farm');
  const fields = await readFields(form);
  const base = baseResult(target, fields.basedOn);
  if (!target.image) throw new HttpError(409, 'no_image', 'the scan has no image to correct the outline on');
  if (!deps.s3) {
    throw new HttpError(
      503,
      'storage_not_configured',
      'this server has no S3 settings (S3_ENDPOINT / AWS_REGION)',
    );
  }
  const asProblem = (err: unknown): never => {
    throw err instanceof CorrectionProblem ? invalidCorrection([err]) : err;
  };
  const drawnSize = await maskPngSize(fields.mask).catch(asProblem);
  const gray = await readImage(deps.s3, target.image);
  const problems: CorrectionProblem[] = [];
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof CorrectionProblem)) throw err;
      problems.push(err);
      return undefined;
    }
  };
  attempt(() => checkMaskSize(drawnSize, gray));
  const drawn = problems.length === 0 ? await decodeMaskPng(fields.mask).catch(asProblem) : undefined;
  const cleaned = drawn && attempt(() => cleanMask(drawn, gray));
  const fatLine = attempt(() => parseFatLine(fields.fatLine, gray));
  if (problems.length > 0 || !cleaned || fatLine === undefined) throw invalidCorrection(problems);

  const spacing = spacingOf(base.features_used);
  const aspect = aspectOf(base.features_used);
  const spacingProblem = spacingProblemOf(base.features_used);
  const graded = gradeCorrection({
    gray,
    mask: cleaned.mask,
    pixelSpacingMm: spacing.mm,
    pixelSpacingSource: spacing.source,
    pixelAspect: aspect.value,
    pixelAspectSource: aspect.source,
    scanArea: scanAreaOf(base.features_used, gray),
    fatLine,
    spacingProblem: spacingProblem?.reason ?? null,
    metaUnavailable: metaUnavailableIn(base.features_used),
  });
  const root = modelResult(target, base);
  const modelVersion = root ? `${root.model_name}@${root.model_version}` : base.model_version;
  const resultId = randomUUID();
  const [maskPng, overlayPng] = await Promise.all([
    encodeMaskPng(cleaned.mask),
    renderCorrectionOverlay({ gray, mask: cleaned.mask, features: graded.features, grade: graded.grade }),
  ]);
  const key = (file: string) => {
    try {
      return processedObjectKey(target.captureId, `manual-${resultId}-${file}`);
    } catch (err) {
      throw new HttpError(
        409,
        'invalid_capture_id',
        `the scan's capture id cannot name an S3 key: ${(err as Error).message}`,
      );
    }
  };
  const bucket = target.image.bucket;
  const [mask, overlay] = await Promise.all([
    store(deps.s3, bucket, key('mask.png'), maskPng),
    store(deps.s3, bucket, key('overlay.png'), overlayPng),
  ]);
  const features = {
    ...graded.features,
    correction: {
      ...cleaned.cleanup,
      submitted_mask_sha256: sha256Hex(fields.mask),
      fat_line_drawn: fatLine !== null,
    },
    lineage: {
      based_on_result_id: base.id,
      based_on: `${base.model_name}@${base.model_version}`,
      model_result_id: root?.id ?? null,
      model: root ? `${root.model_name}@${root.model_version}` : null,
      model_inference_sha256: root?.inference_sha256 ?? null,
      corrected_by: principal.userId,
      pixel_spacing: {
        mm: spacing.mm,
        source: spacing.source,
        from_result_id: base.id,
        ...(spacingProblem ? { problem: spacingProblem } : {}),
      },
      pixel_aspect: { value: aspect.value, source: aspect.source, from_result_id: base.id },
      grading_rules: GRADING_RULES_VERSION,
      correction_rules: CORRECTION_RULES_VERSION,
    },
  };
  await writeCorrection(
    deps.sql,
    {
      resultId,
      scan: { scanId: target.scanId, captureId: target.captureId, farmId: target.farmId },
      userId: principal.userId,
      modelVersion,
      basedOnResultId: base.id,
      modelResultId: root?.id ?? null,
      grade: graded.grade,
      reasons: graded.reasons,
      breakdown: { ...graded.breakdown, based_on_result_id: base.id, based_on_confidence: base.confidence },
      features,
      mask,
      overlay,
    },
    async (tx) => {
      // Checked again where it is recorded: access or the latest result may have changed during the upload.
      await lockScan(tx, target.scanId);
      const author = await deps.sessions.check(principal.sessionHash, tx);
      if (!author) throw unauthenticated();
      const now = await correctionState(tx, author, target.scanId);
      if (!now) throw new HttpError(404, 'not_found', 'no scan with that id');
      if (!now.writable) throw forbidden('you may not correct scans of this farm');
      if (now.latestResultId !== base.id) throw staleBase(base.id, now.latestResultId);
    },
  );
  return { resultId, scanId: target.scanId };
}
