import type { Grade } from '../view-types.ts';
import { GRADE_NAMES, reasonText } from './grade-reasons.ts';

export type GradeBadgeProps = {
  grade: Grade | null;
  reasons?: readonly string[];
  /** Write the reasons after the badge (scan detail); lists show them only in the tooltip. */
  showReasons?: boolean;
};

/**
 * The image-quality grade: a letter in a coloured box that also says its meaning in words (colour is
 * never the only signal), with the reasons. No grade yet → "not graded".
 */
export function GradeBadge({ grade, reasons = [], showReasons = false }: GradeBadgeProps) {
  if (!grade) return <span class="grade grade-none">not graded</span>;
  const why = reasons.map(reasonText);
  return (
    <span class="grade-wrap">
      <span class={`grade grade-${grade.toLowerCase()}`} title={why.length ? why.join('; ') : undefined}>
        <span class="grade-letter" aria-hidden="true">
          {grade}
        </span>
        <span class="grade-name">
          <span class="visually-hidden">Grade {grade}, </span>
          {GRADE_NAMES[grade]}
        </span>
      </span>
      {showReasons && why.length > 0 && (
        <ul class="grade-reasons" aria-label="Reasons">
          {why.map((r) => (
            <li>{r}</li>
          ))}
        </ul>
      )}
    </span>
  );
}
