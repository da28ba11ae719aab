import type { ViewCard, ViewReason } from './view-card.ts';
import { featureVector, type ViewStats } from './view-features.ts';

/**
 * Is this frame a usable transverse ribeye view? `ribeyeView` is a calibrated probability (logistic
 * calibration on phantoms of every negative kind, see the view card); `accepted` = ribeyeView ≥
 * threshold. `reasons` is empty when accepted; on a rejection it starts with `not_a_ribeye_view`,
 * followed by what explains it (`ribeye_cut_off`, `longitudinal_view`, `too_dark`, …).
 */
export type ViewVerdict = {
  ribeyeView: number;
  accepted: boolean;
  threshold: number;
  reasons: ViewReason[];
  /** 'ribeye-view@version'. */
  model: string;
};

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** The most probable non-ribeye class of the hint's view head, or null without a head. */
function likeliestOther(card: ViewCard, out: Float32Array): string | null {
  const classes = card.classes;
  if (!classes || out.length < 5 + classes.length) return null;
  let best = -1;
  for (let k = 1; k < classes.length; k++) if (best < 0 || out[5 + k]! > out[5 + best]!) best = k;
  return best > 0 ? classes[best]! : null;
}

export function judgeView(card: ViewCard, stats: ViewStats, out: Float32Array): ViewVerdict {
  const x = featureVector(card.features, stats, out);
  let z = card.bias;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isFinite(v)) throw new Error(`view feature ${card.features[i]} is not finite (${v})`);
    z += (card.weights[i]! * (v - card.featureMean[i]!)) / card.featureStd[i]!;
  }
  const ribeyeView = Math.round(sigmoid(z) * 10000) / 10000;
  const accepted = ribeyeView >= card.threshold;
  const reasons = new Set<ViewReason>();
  if (!accepted) {
    reasons.add('not_a_ribeye_view');
    const other = likeliestOther(card, out);
    const fromClass = other ? card.classReasons?.[other] : undefined;
    if (fromClass) reasons.add(fromClass);
    for (const r of card.reasonRules) {
      const v = stats[r.stat];
      if (r.op === '<' ? v < r.value : v > r.value) reasons.add(r.code);
    }
  }
  return {
    ribeyeView,
    accepted,
    threshold: card.threshold,
    reasons: [...reasons],
    model: `${card.name}@${card.version}`,
  };
}
