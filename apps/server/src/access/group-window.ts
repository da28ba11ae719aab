import type { TransactionSql } from 'postgres';
import { HttpError } from '../errors.ts';

// A contemporary group's birth-date window holds for every member whose birth date is known, on
// every write that can break it: adding an animal, changing the window, changing a birth date. A
// value sent unchanged is no change: members already outside (data from before this was enforced)
// are flagged on the group (`outside_window`) for an admin to fix, and never block other edits. Each
// check runs in the writer's transaction with the rows locked in one order — the animal first, then
// its groups — so two writers cannot each pass against the other's old value (and cannot deadlock).

export type Window = { from: string | null; to: string | null };

const show = (w: Window) => `${w.from ?? '…'} – ${w.to ?? '…'}`;
const outside = (born: string, w: Window) =>
  (w.from !== null && born < w.from) || (w.to !== null && born > w.to);

const unprocessable = (problems: { pointer: string; message: string }[]) =>
  new HttpError(422, 'invalid_request', problems.map((p) => `${p.pointer} ${p.message}`).join('; '), {
    problems,
  });

/** "A-1 (born 2020-01-01), A-2 (born …)" — at most 10, then how many more. */
function listAnimals(animals: { tag_id: string; birth_date: string }[]): string {
  const shown = animals.slice(0, 10).map((a) => `${a.tag_id} (born ${a.birth_date})`);
  if (animals.length > 10) shown.push(`and ${animals.length - 10} more`);
  return shown.join(', ');
}

/**
 * Refuses a window change for group `id` that would leave out a current member (422 naming
 * `/birth_date_from` and/or `/birth_date_to` and the animals). Only what the change itself leaves
 * out counts: a bound that is unchanged or wider refuses nothing, and a member already outside the
 * stored window (possible for data from before the window was enforced; the group shows it as
 * `outside_window`) does not block a rename or another bound's change. The caller holds the group
 * row locked (FOR UPDATE) in the transaction that writes the window.
 */
export async function checkNewWindow(
  tx: TransactionSql,
  id: string,
  stored: Window,
  next: Window,
): Promise<void> {
  if (stored.from === next.from && stored.to === next.to) return;
  const members = await tx<{ tag_id: string; birth_date: string }[]>`
    SELECT a.tag_id, to_char(a.birth_date, 'YYYY-MM-DD') AS birth_date
      FROM contemporary_group_animals cga JOIN animals a ON a.id = cga.animal_id
     WHERE cga.group_id = ${id} AND a.birth_date IS NOT NULL ORDER BY a.birth_date, a.tag_id`;
  const earlier = (from: string | null, born: string) => from !== null && born < from;
  const later = (to: string | null, born: string) => to !== null && born > to;
  const before = members.filter(
    (a) => earlier(next.from, a.birth_date) && !earlier(stored.from, a.birth_date),
  );
  const after = members.filter((a) => later(next.to, a.birth_date) && !later(stored.to, a.birth_date));
  const problems = [];
  if (before.length)
    problems.push({
      pointer: '/birth_date_from',
      message: `would leave out animals of the group born earlier: ${listAnimals(before)}; remove them from the group first`,
    });
  if (after.length)
    problems.push({
      pointer: '/birth_date_to',
      message: `would leave out animals of the group born later: ${listAnimals(after)}; remove them from the group first`,
    });
  if (problems.length) throw unprocessable(problems);
}

/**
 * Refuses a birth date for animal `animalId` outside the window of a group it is in (422
 * `/birth_date`, naming the groups). Called only when the birth date changes (updateAnimal compares
 * with the stored one), so a form re-sending an unchanged date never refuses. The caller holds the animal row locked (FOR UPDATE); this
 * locks its groups' rows (FOR SHARE) so a window change waits for it, or it for the window change.
 */
export async function checkBirthDateInGroups(
  tx: TransactionSql,
  animalId: string,
  born: string | null,
): Promise<void> {
  const groups = await tx<({ name: string } & Window)[]>`
    SELECT g.name, to_char(g.birth_date_from, 'YYYY-MM-DD') AS from, to_char(g.birth_date_to, 'YYYY-MM-DD') AS to
      FROM contemporary_groups g JOIN contemporary_group_animals cga ON cga.group_id = g.id
     WHERE cga.animal_id = ${animalId} ORDER BY g.name, g.id FOR SHARE OF g`;
  if (born === null) return;
  const out = groups.filter((g) => outside(born, g));
  if (out.length === 0) return;
  const names = out.map((g) => `"${g.name}" (${show(g)})`).join(', ');
  throw unprocessable([
    {
      pointer: '/birth_date',
      message: `is outside the birth-date window of the animal's group${out.length > 1 ? 's' : ''} ${names}; remove it from the group first`,
    },
  ]);
}

/**
 * Refuses adding an animal born `born` to a group with window `w` (422 `/animal_id`). The caller
 * holds the animal row (FOR SHARE) and then the group row (FOR UPDATE) locked.
 */
export function checkJoiningAnimal(born: string | null, w: Window): void {
  if (born && outside(born, w))
    throw unprocessable([
      { pointer: '/animal_id', message: `was born ${born}, outside the group's window ${show(w)}` },
    ]);
}
