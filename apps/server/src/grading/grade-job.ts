import { type MetaJson, validateMeta } from '@cti/contracts';
import {
  declaredImageSize,
  decodeRaster,
  ImageDecodeError,
  MAX_IMAGE_PIXELS,
  type RasterImage,
  scanShapeProblem,
  toGray,
} from '@cti/imaging';
import { ImageInputError, type Mask } from '@cti/models';
import type { Sql } from 'postgres';
import { jobOutputKeys } from './failed-job-outputs.ts';
import { type GradedImage, type GradeImageInput, type Grader, GraderInputError } from './grade-image.ts';
import { GradingError } from './grading-errors.ts';
import type { ClaimedJob } from './job-queue.ts';
import {
  IMAGE_BYTE_LIMIT,
  type ObjectClient,
  putObject,
  readOptionalObject,
  readVerifiedObject,
  type StoredObject,
} from './object-store.ts';
import { finishAlreadyGraded, writeGradingResult } from './result-writer.ts';
import { applicableCalibration, loadScanContext, type ScanContext } from './scan-context.ts';

/** Larger images are refused (image_too_large): a 40-megapixel frame is no B-mode export. */
export { MAX_IMAGE_PIXELS };

export type GradeJobDeps = {
  sql: Sql;
  s3: ObjectClient;
  grader: Grader;
  acceptedBuckets: readonly string[];
  workerId: string;
};

export type JobOutcome =
  | {
      outcome: 'graded';
      resultId: string;
      grade: string;
      timings: Record<string, number>;
      /** This process's CPU (ms, libuv's pool and GC included) per phase of the job; bench:grade reads it. */
      cpuMs: Record<string, number>;
    }
  | { outcome: 'already_graded'; resultId: string };

/** meta.json as grading uses it, and where it came from (or why it was not read). */
export type MetaRead = {
  meta: MetaJson | null;
  source: 'store' | 'ingest_webhook' | null;
  problem: string | null;
};

/**
 * meta.json: the store's object when ingest recorded its sha256 (checked against it); else the copy of
 * the webhook's meta_json ingest validated and kept (a spec §5.3 body has no meta_sha256) — never the
 * store's object unchecked, which anything allowed to write the capture's prefix could have replaced
 * after ingest. Neither, or the object gone from the store since: not read, and `problem` says why (the
 * spacing reason names it) — meta.json is optional input, so its absence never fails the job.
 */
async function readMeta(deps: GradeJobDeps, ctx: ScanContext, signal: AbortSignal): Promise<MetaRead> {
  if (!ctx.meta) {
    if (ctx.ingestMeta !== null) {
      const kept = validateMeta(ctx.ingestMeta);
      if (kept.ok) return { meta: kept.value, source: 'ingest_webhook', problem: null };
      return {
        meta: null,
        source: null,
        problem: 'meta.json not read: the copy kept at ingest is not a valid meta.json v1',
      };
    }
    return {
      meta: null,
      source: null,
      problem: 'meta.json not read: ingest recorded no sha256 for it and kept no validated copy',
    };
  }
  const bytes = await readOptionalObject(deps.s3, ctx.meta, { signal, maxBytes: 1 << 20 });
  // Gone since ingest (a clean-up or lifecycle rule): graded without it, as a capture without spacing.
  if (bytes === null) {
    return {
      meta: null,
      source: null,
      problem: `meta.json missing from the store (s3://${ctx.meta.bucket}/${ctx.meta.key} does not exist)`,
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new GradingError(
      'invalid_meta',
      `s3://${ctx.meta.bucket}/${ctx.meta.key} is not JSON: ${(err as Error).message}`,
      {
        permanent: true,
      },
    );
  }
  const checked = validateMeta(parsed);
  if (!checked.ok) {
    throw new GradingError(
      'invalid_meta',
      `s3://${ctx.meta.bucket}/${ctx.meta.key} is not a valid meta.json v1`,
      {
        permanent: true,
      },
    );
  }
  return { meta: checked.value, source: 'store', problem: null };
}

function tooLarge(where: string, width: number, height: number, verb = 'is'): GradingError {
  return new GradingError(
    'image_too_large',
    `${where} ${verb} ${width}×${height}, over ${MAX_IMAGE_PIXELS} pixels`,
    { permanent: true },
  );
}

/** A side under 32 px or a sliver past 8:1 is no scan (scanShapeProblem, as createGrader and cti-models say). */
function refuseShape(where: string, width: number, height: number, verb = 'is'): void {
  const problem = scanShapeProblem(width, height);
  if (problem)
    throw new GradingError('undecodable_image', `${where} ${verb} ${width}×${height}: ${problem}`, {
      permanent: true,
    });
}

async function decodeImage(bytes: Uint8Array, where: string): Promise<RasterImage> {
  const declared = await declaredImageSize(bytes);
  if (declared && declared.width * declared.height > MAX_IMAGE_PIXELS)
    throw tooLarge(where, declared.width, declared.height, 'declares');
  if (declared) refuseShape(where, declared.width, declared.height, 'declares');
  try {
    // A gray capture stays one channel: what grading computes from it is the same (toGray is exact).
    const raster = await decodeRaster(bytes, { keepGray: true, name: where });
    // The header said otherwise, or could not be read before decoding.
    if (raster.width * raster.height > MAX_IMAGE_PIXELS) throw tooLarge(where, raster.width, raster.height);
    refuseShape(where, raster.width, raster.height);
    return raster;
  } catch (err) {
    if (err instanceof ImageDecodeError) {
      // Its message names the object already (decodeRaster's `name`).
      throw new GradingError('undecodable_image', err.message, {
        permanent: true,
        cause: err,
      });
    }
    throw err;
  }
}

/**
 * The grading, its input refusals (the grader's shape check, the models' ImageInputError) made
 * permanent: the same bytes are refused on every attempt, so retrying them as internal_error only
 * delays the failure by max attempts.
 */
async function runGrader(grader: Grader, input: GradeImageInput, where: string): Promise<GradedImage> {
  try {
    return await grader.grade(input);
  } catch (err) {
    if (err instanceof GraderInputError || err instanceof ImageInputError) {
      throw new GradingError('model_refused', `the model refused ${where}: ${err.message}`, {
        permanent: true,
        cause: err,
      });
    }
    throw err;
  }
}

/**
 * The capture's own mask (0/255 PNG from the agent) as 0/1, when it decodes at the image's size; a
 * mask that does not is only noted (it is an extra, not what is graded).
 */
async function decodeCaptureMask(
  bytes: Uint8Array,
  image: RasterImage,
  where: StoredObject,
): Promise<Mask | string> {
  const declared = await declaredImageSize(bytes);
  if (declared && (declared.width !== image.width || declared.height !== image.height)) {
    // Refused from its header: a mask of another size is not used, so it is never decoded.
    return `s3://${where.bucket}/${where.key} declares ${declared.width}×${declared.height}, the image ${image.width}×${image.height}`;
  }
  try {
    const gray = toGray(
      await decodeRaster(bytes, { keepGray: true, name: `s3://${where.bucket}/${where.key}` }),
    );
    if (gray.width !== image.width || gray.height !== image.height) {
      return `s3://${where.bucket}/${where.key} is ${gray.width}×${gray.height}, the image ${image.width}×${image.height}`;
    }
    return { data: gray.data.map((v) => (v > 127 ? 1 : 0)), width: gray.width, height: gray.height };
  } catch (err) {
    if (err instanceof ImageDecodeError) return err.message;
    return `s3://${where.bucket}/${where.key}: ${(err as Error).message}`;
  }
}

/**
 * Grades one claimed job end to end: a result this job already wrote is found and the job finished;
 * otherwise image (and meta.json) are read from S3 and checked against their sha256, decoded,
 * graded, the overlay and mask written to processed/{capture_id}/job-{id}-overlay.png / -mask.png
 * (jobOutputKeys, deterministic: a retry rewrites the same objects; a job failed for good has them
 * deleted, deleteFailedJobOutputs), and everything recorded in one transaction. Throws GradingError (classified) or LeaseLostError.
 */
export async function gradeJob(
  deps: GradeJobDeps,
  job: ClaimedJob,
  signal: AbortSignal,
): Promise<JobOutcome> {
  const cpuMs: Record<string, number> = {};
  // One CPU reading per phase boundary: each ends one phase and starts the next.
  let cpuMark = process.cpuUsage();
  const cpuLap = (phase: string) => {
    const now = process.cpuUsage();
    cpuMs[phase] = Math.round((now.user - cpuMark.user + now.system - cpuMark.system) / 10) / 100;
    cpuMark = now;
  };
  // The claim says whether a result existed (one statement fewer per job); without it, look.
  const existing = job.hasResult === false ? null : await finishAlreadyGraded(deps.sql, job, deps.workerId);
  if (existing) return { outcome: 'already_graded', resultId: existing };
  const ctx = await loadScanContext(deps.sql, job.scanId);
  if (!ctx)
    throw new GradingError('no_image_asset', `scan ${job.scanId} does not exist`, { permanent: true });
  if (!ctx.image) {
    throw new GradingError(
      'no_image_asset',
      `scan ${ctx.scanId} (${ctx.captureId}) has no image asset with a sha256`,
      {
        permanent: true,
      },
    );
  }
  if (!deps.acceptedBuckets.includes(ctx.image.bucket)) {
    throw new GradingError('bucket_not_accepted', `bucket ${ctx.image.bucket} is not in CTI_S3_BUCKETS`, {
      permanent: true,
    });
  }
  const where = `s3://${ctx.image.bucket}/${ctx.image.key}`;
  cpuLap('context');
  const [bytes, meta, maskBytes] = await Promise.all([
    readVerifiedObject(deps.s3, ctx.image, { signal, ...IMAGE_BYTE_LIMIT }),
    readMeta(deps, ctx, signal),
    ctx.mask ? readOptionalObject(deps.s3, ctx.mask, { signal, maxBytes: 16 << 20 }) : null,
  ]);
  cpuLap('s3_get');
  const raster = await decodeImage(bytes, where);
  const calibration = applicableCalibration(ctx.calibrations, raster.width, raster.height);
  const captureMask = !ctx.mask
    ? null
    : maskBytes
      ? await decodeCaptureMask(maskBytes, raster, ctx.mask)
      : `s3://${ctx.mask.bucket}/${ctx.mask.key} is missing from the store`;
  cpuLap('decode');
  const graded = await runGrader(
    deps.grader,
    { raster, meta: meta.meta, metaSource: meta.source, metaProblem: meta.problem, calibration, captureMask },
    where,
  );
  cpuLap('grade');
  signal.throwIfAborted();
  const keys = jobOutputKeys(ctx.captureId, job.id);
  const [overlay, mask] = await Promise.all([
    putObject(
      deps.s3,
      {
        bucket: ctx.image.bucket,
        key: keys.overlay,
        body: graded.overlayPng,
        contentType: 'image/png',
      },
      { signal },
    ),
    putObject(
      deps.s3,
      { bucket: ctx.image.bucket, key: keys.mask, body: graded.maskPng, contentType: 'image/png' },
      { signal },
    ),
  ]);
  signal.throwIfAborted();
  cpuLap('s3_put');
  const written = await writeGradingResult(deps.sql, {
    job,
    reason: job.reason,
    workerId: deps.workerId,
    scan: { scanId: ctx.scanId, captureId: ctx.captureId, farmId: ctx.farmId },
    model: {
      name: deps.grader.modelName,
      version: deps.grader.modelVersion,
      sha256: deps.grader.inferenceSha256,
    },
    graded,
    overlay,
    mask,
  });
  cpuLap('result');
  return {
    outcome: 'graded',
    resultId: written.resultId,
    grade: graded.grade,
    timings: graded.timings,
    cpuMs,
  };
}
