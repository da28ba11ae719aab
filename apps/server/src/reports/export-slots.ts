import { HttpError } from '../errors.ts';

export type ExportSlots = {
  /**
   * Counts one more download of `userId` in progress: a release function (idempotent), or throws 429
   * `too_many_exports` when the user already has `perUser`, 503 `exports_busy` when `max` are running.
   */
  take(userId: string): () => void;
};

/**
 * Downloads in progress in this server process. Each holds a pool connection (its cursor's
 * transaction) until its client has read it, so at most `max` at once — never every connection the
 * rest of the server needs — and at most `perUser` of one user's, so one account (a script, a phone
 * behind a dead NAT) cannot take every slot and leave everyone else's exports at 503. The user's limit
 * is checked first: it is the answer the user can act on.
 *
 * @example const release = exportSlots({ max: 5, perUser: 2 }).take(principal.userId); … release();
 */
export function exportSlots({ max, perUser }: { max: number; perUser: number }): ExportSlots {
  let busy = 0;
  const ofUser = new Map<string, number>();
  return {
    take(userId) {
      const held = ofUser.get(userId) ?? 0;
      if (held >= perUser) {
        throw new HttpError(
          429,
          'too_many_exports',
          `you already have ${perUser} exports downloading; wait for one to finish (or cancel it) and try again`,
          { headers: { 'Retry-After': '10' } },
        );
      }
      if (busy >= max) {
        throw new HttpError(503, 'exports_busy', `${max} exports are being downloaded; try again shortly`, {
          headers: { 'Retry-After': '10' },
        });
      }
      busy++;
      ofUser.set(userId, held + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        busy--;
        const left = (ofUser.get(userId) ?? 1) - 1;
        if (left > 0) ofUser.set(userId, left);
        else ofUser.delete(userId);
      };
    },
  };
}
