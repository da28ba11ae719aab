import {
  type AnimalMatch,
  animalNameOf,
  animalSuggestions,
  findAnimalsNamed,
} from '../../access/animal-lookup.ts';
import type { Db } from '../../access/farm-access.ts';
import { findFarm } from '../../access/farm-queries.ts';
import type { Principal } from '../../auth/principal.ts';
import { TextField } from '../components/form-field.tsx';

// The Animal field of the scan's "Farm and animal" form and of the scans filter: people name an
// animal as they know it — its ear tag (unique on its farm) or its EID (unique everywhere), typed or
// pasted from a reader — and the server finds it (findAnimalsNamed). A small herd's tags are offered
// as the field is typed in (a datalist); a larger one is typed only. Either way the same text is sent
// and resolved the same way.

/**
 * The most animals whose tags the field offers: up to this many on the field's farm (in the scans
 * filter without a farm: on all the viewer's farms together), each is a suggestion; one more, and
 * there are none (a list that long helps nobody, least on a phone) — the tag or EID is typed.
 */
export const ANIMAL_SUGGESTIONS = 200;

export const ANIMAL_FIELD_LABEL = 'Animal (ear tag or EID)';

type Suggestion = { value: string; label?: string };

/**
 * The tags the field offers for `farmId` (else every farm the viewer reads): [] without animals,
 * null with more than ANIMAL_SUGGESTIONS. Across farms each names its farm, on one farm its EID.
 */
export async function animalFieldSuggestions(
  sql: Db,
  principal: Principal,
  farmId: string | undefined,
): Promise<Suggestion[] | null> {
  const rows = await animalSuggestions(sql, principal, { farmId, limit: ANIMAL_SUGGESTIONS });
  if (rows === null) return null;
  const farms = new Set(rows.map((r) => r.farm_name)).size;
  return rows.map((r) => {
    const label = [farmId || farms < 2 ? '' : r.farm_name, r.eid ? `EID ${r.eid}` : '']
      .filter(Boolean)
      .join(' · ');
    return { value: r.tag_id, ...(label ? { label } : {}) };
  });
}

export type AnimalLookup = { ok: true; animal: AnimalMatch } | { ok: false; error: string };

/** Typed text in a message: as typed, but not a page of it. */
const quoted = (text: string) => `“${text.length > 40 ? `${text.slice(0, 39)}…` : text}”`;

/**
 * The one animal of `tagged` (matches of one kind: the exact tag, or the tag in any case): the only
 * one, else the `prefer`red one when it is among them, else the error saying why there is no one.
 */
function oneTagged(tagged: AnimalMatch[], text: string, prefer: string | undefined): AnimalLookup {
  const one = tagged.length === 1 ? tagged[0] : tagged.find((m) => m.id === prefer);
  if (one) return { ok: true, animal: one };
  const farms = [...new Map(tagged.map((m) => [m.farm.id, m.farm.name])).values()];
  if (farms.length > 1) {
    const more = farms.length > 3 ? ` and ${farms.length - 3} more` : '';
    return {
      ok: false,
      error: `Ear tag ${quoted(text)} is on ${farms.length} of your farms (${farms.slice(0, 3).join(', ')}${more}): choose the farm, or type the EID.`,
    };
  }
  // One farm, two tags that differ from the text and from each other only in case.
  const tags = tagged.map((m) => quoted(m.tag_id)).join(' and ');
  return {
    ok: false,
    error: `Ear tag ${quoted(text)} matches ${tags} on ${farms[0]} when case is ignored: type the tag as printed, or type the EID.`,
  };
}

/**
 * The one animal `text` names (animalNameOf) on `farmId`, else on any farm the viewer reads, in this
 * order of precedence: its id; its EID (the whole text); its ear tag exactly as typed (as before
 * ear tags were matched in any case, so no tag stops naming its animal); its ear tag when case is
 * ignored, only when no farm has the exact tag (two on one farm, `A-101` and `a-101` for `a-101`: an
 * error, not a guess); the EID in a pasted reader line (`LA 982 000123456789`). A tag on several of
 * the viewer's farms is the `prefer`red one when it is among them (the animal the same text meant
 * before), else an error asking to choose the farm that says how many of the viewer's farms have it.
 * An animal the viewer may not see is "not found", in the same words as one that does not exist.
 */
export async function lookUpAnimal(
  sql: Db,
  principal: Principal,
  text: string,
  { farmId, prefer }: { farmId?: string; prefer?: string } = {},
): Promise<AnimalLookup> {
  const name = animalNameOf(text);
  const matches = await findAnimalsNamed(sql, principal, name, { farmId });
  const found = matches.find((m) => m.by === 'id') ?? matches.find((m) => m.by === 'eid');
  if (found) return { ok: true, animal: found };
  for (const by of ['tag', 'tag_any_case'] as const) {
    const tagged = matches.filter((m) => m.by === by);
    if (tagged.length > 0) return oneTagged(tagged, name.tag, prefer);
  }
  const read = matches.find((m) => m.by === 'line_eid');
  if (read) return { ok: true, animal: read };
  const farm = farmId ? ((await findFarm(sql, principal, farmId))?.name ?? 'that farm') : 'your farms';
  const what = name.id ? 'with id' : 'with ear tag or EID';
  return { ok: false, error: `No animal ${what} ${quoted(name.tag)} on ${farm}.` };
}

/** The Animal text field: its value kept after an error, the error beside it, the tags offered when few. */
export function AnimalField({
  value,
  error,
  hint,
  suggestions,
}: {
  value: string | undefined;
  error: string | undefined;
  hint: string;
  suggestions: Suggestion[] | null;
}) {
  return (
    <TextField
      name="animal"
      label={ANIMAL_FIELD_LABEL}
      value={value}
      error={error}
      hint={hint}
      autocomplete="off"
      suggestions={suggestions ?? []}
    />
  );
}
