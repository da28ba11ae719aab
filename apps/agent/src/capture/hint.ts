import type { GrayImage } from '@cti/imaging';
import type { Logger } from '@cti/runtime';

/** @cti/models' view verdict: is the frame a usable transverse ribeye view? */
export type ViewOutput = {
  ribeyeView: number;
  accepted: boolean;
  threshold: number;
  /** Machine-readable codes, `not_a_ribeye_view` first on a rejection. */
  reasons: string[];
  model: string;
};

export type HintOutput = {
  ribeyeBbox: [number, number, number, number];
  score: number;
  /** 'name@version'. */
  model: string;
  /** The view verdict; null/absent when no view card is installed with the hint model. */
  view?: ViewOutput | null;
  ms: number;
};

/** The on-device ribeye hint, injected; absent → meta.json has no inference_summary. */
export type Hint = {
  run(gray: GrayImage): Promise<HintOutput>;
  /** sha256 of the model file, for meta.json's inference_summary.model.sha256. */
  sha256?: string;
  /** 'name@version' of the loaded model (the heartbeat reports it). */
  model?: string;
  /** The view card loaded beside the model (the view gate); null/absent = no view verdict. */
  viewCard?: { name: string; version: string; threshold: number } | null;
  close?(): Promise<void>;
};

/**
 * Load the hint model from @cti/models when that package provides it and its model file is present.
 * Any failure leaves the agent running without a hint (logged once), because a capture without a
 * hint is still a complete capture.
 */
export async function loadHint({
  log,
  modelPath,
}: {
  log: Logger;
  modelPath?: string | null;
}): Promise<Hint | null> {
  try {
    const models = (await import('@cti/models')) as Record<string, unknown>;
    const load = models.loadHintModel as
      | ((opts: { modelPath?: string; cardPath?: string }) => Promise<Hint & { sha256: string }>)
      | undefined;
    if (typeof load !== 'function') throw new Error('@cti/models has no loadHintModel');
    const model = await load(modelPath ? { cardPath: modelPath } : {});
    const view = model.viewCard;
    if (view) {
      log.info(
        { model: model.model, view: `${view.name}@${view.version}` },
        'hint model loaded with its view verdict',
      );
    } else {
      // Every wrong view would be captured: say so where the operator looks (journal, doctor).
      log.warn(
        { model: model.model, view: null },
        'hint model loaded without a view card (ribeye-view.card.json beside the hint card): no view gate',
      );
    }
    return model;
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'hint model unavailable; captures carry no inference_summary');
    return null;
  }
}

/**
 * 'name@version' of each model a loaded hint runs: the hint and, when loaded beside it, its view card
 * (the heartbeat lists them, so the fleet sees a Pi running without the view gate).
 */
export function loadedModels(hint: Hint | null): string[] {
  if (!hint?.model) return [];
  return hint.viewCard ? [hint.model, `${hint.viewCard.name}@${hint.viewCard.version}`] : [hint.model];
}
