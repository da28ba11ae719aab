import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Committed models live in packages/models/models (one level above both src/ and dist/). */
export const DEFAULT_MODELS_DIR = fileURLToPath(new URL('../models/', import.meta.url));

/** torch's output on a fixed input, recorded at export; the tests require onnxruntime to match it. */
export type SelfCheck = { input: string; outputSum: number; outputStride: number; outputSample: number[] };

/**
 * The segmentation's refine pass: the coarse mask (its probability map thresholded at
 * `coarseThreshold`) gives a box, widened by `marginX` of its width left and right and `marginY` of
 * its height above and below, inside the scan area, at least `minSide` px each way.
 */
export type RefineSpec = { marginX: number; marginY: number; coarseThreshold: number; minSide: number };

export type ModelCard = {
  name: string;
  version: string;
  file: string;
  sha256: string;
  sizeBytes: number;
  task: 'bbox-hint' | 'segmentation';
  precision: string;
  input: { name: string; shape: number[] };
  output: { name: string; shape: number[]; layout: string };
  preprocessing: { id: string; size: number };
  selfCheck: SelfCheck;
  acceptThreshold?: number;
  maskThreshold?: number;
  /** Segmentation ≥ 3.0: a second pass on the coarse mask's box widened by these margins. */
  refine?: RefineSpec;
  /** Mean ribeye box relative to the whole frame (the image-blind baseline of the evaluation). */
  constantPrior?: [number, number, number, number];
  /** Hint ≥ 3.0: the view classes whose logits follow the box and score in the output. */
  viewClasses?: string[];
  /** Mean ribeye box relative to the detected scan area. */
  constantPriorInScanArea?: [number, number, number, number];
  fp32Reference?: { file: string; sha256: string; selfCheck: SelfCheck };
  metrics?: unknown;
  trainingData?: unknown;
};

/** The model file's sha256 differs from its card: the file was altered or the card is stale. */
export class ModelIntegrityError extends Error {
  readonly code = 'model_sha256_mismatch';
}

/** The card itself is missing or malformed. */
export class ModelCardError extends Error {
  readonly code = 'model_card_invalid';
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A JSON card file, or ModelCardError naming the file and what is wrong ("model card", "view card"). */
export async function readCardJson<T>(path: string, what: string): Promise<T> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    throw new ModelCardError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(raw) as T;
  } catch (err) {
    throw new ModelCardError(`${what} ${path} is not JSON: ${(err as Error).message}`);
  }
}

export async function readModelCard(cardPath: string): Promise<ModelCard> {
  const card = await readCardJson<ModelCard>(cardPath, 'model card');
  for (const key of [
    'name',
    'version',
    'file',
    'sha256',
    'task',
    'input',
    'output',
    'preprocessing',
  ] as const) {
    if (card[key] === undefined) throw new ModelCardError(`model card ${cardPath} lacks "${key}"`);
  }
  if (!/^[0-9a-f]{64}$/.test(card.sha256))
    throw new ModelCardError(`model card ${cardPath}: sha256 is not 64 hex`);
  return card;
}

export type VerifiedModel = { card: ModelCard; bytes: Uint8Array; sha256: string; modelPath: string };

/**
 * Reads the card and the model file and refuses a file whose sha256 differs from the card. The
 * returned bytes are the ones that were hashed, so the session runs exactly what was verified.
 */
export async function loadVerifiedModel(opts: {
  cardPath: string;
  modelPath?: string;
}): Promise<VerifiedModel> {
  const card = await readModelCard(opts.cardPath);
  const modelPath = opts.modelPath ?? join(dirname(opts.cardPath), card.file);
  const bytes = await readFile(modelPath).catch((err: Error) => {
    throw new ModelCardError(`cannot read model file ${modelPath}: ${err.message}`);
  });
  const sha256 = sha256Hex(bytes);
  if (sha256 !== card.sha256) {
    throw new ModelIntegrityError(
      `model file ${modelPath} has sha256 ${sha256} but its card ${opts.cardPath} says ${card.sha256}; refusing to load`,
    );
  }
  return { card, bytes, sha256, modelPath };
}
