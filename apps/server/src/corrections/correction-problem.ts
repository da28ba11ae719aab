import { HttpError } from '../errors.ts';

/** A bad field of a correction: 422 naming it (`/mask`, `/fat_line`, `/based_on_result_id`). */
export class CorrectionProblem extends Error {
  readonly pointer: string;

  constructor(pointer: string, message: string) {
    super(message);
    this.name = 'CorrectionProblem';
    this.pointer = pointer;
  }
}

/** One or more field problems as the API's 422 (every problem listed with its pointer). */
export function invalidCorrection(problems: readonly CorrectionProblem[]): HttpError {
  return new HttpError(
    422,
    'invalid_request',
    problems.map((p) => `${p.pointer.slice(1)} ${p.message}`).join('; '),
    { problems: problems.map((p) => ({ pointer: p.pointer, message: p.message })) },
  );
}
