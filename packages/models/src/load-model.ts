import { join } from 'node:path';
import { DEFAULT_MODELS_DIR, loadVerifiedModel, type ModelCard, ModelCardError } from './model-card.ts';
import { createOnnxSession, type OnnxSession } from './onnx-session.ts';
import { PREPROCESSING_ID } from './preprocess.ts';

export type LoadModelOptions = {
  /** Directory holding `<name>.card.json` and the model file; default: the committed models. */
  modelsDir?: string;
  /** Explicit card path (wins over modelsDir). */
  cardPath?: string;
  /** Explicit model file (default: the card's `file` beside the card); still verified against the card. */
  modelPath?: string;
  /** onnxruntime intra-op threads (default 1). */
  intraOpThreads?: number;
};

export type LoadedModel = { card: ModelCard; sha256: string; session: OnnxSession; id: string };

export async function loadModel(
  name: string,
  task: ModelCard['task'],
  opts: LoadModelOptions,
): Promise<LoadedModel> {
  const cardPath = opts.cardPath ?? join(opts.modelsDir ?? DEFAULT_MODELS_DIR, `${name}.card.json`);
  const verified = await loadVerifiedModel({
    cardPath,
    ...(opts.modelPath ? { modelPath: opts.modelPath } : {}),
  });
  const { card } = verified;
  if (card.task !== task) throw new ModelCardError(`${cardPath}: task is "${card.task}", expected "${task}"`);
  if (card.preprocessing.id !== PREPROCESSING_ID) {
    throw new ModelCardError(
      `${cardPath}: trained with preprocessing "${card.preprocessing.id}" but this code implements "${PREPROCESSING_ID}"`,
    );
  }
  const session = await createOnnxSession(verified.bytes, {
    ...(opts.intraOpThreads !== undefined ? { intraOpThreads: opts.intraOpThreads } : {}),
  });
  return { card, sha256: verified.sha256, session, id: `${card.name}@${card.version}` };
}
