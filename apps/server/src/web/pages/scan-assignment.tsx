import type { Db } from '../../access/farm-access.ts';
import { listFarms } from '../../access/farm-queries.ts';
import type { ScanChanges } from '../../access/scan-update.ts';
import type { Principal } from '../../auth/principal.ts';
import { normalizeTypedName } from '../../text/typed-name.ts';
import { canonicalUuid } from '../../text/uuid.ts';
import { Button } from '../components/button.tsx';
import { ErrorSummary, SelectField } from '../components/form-field.tsx';
import { ANIMAL_SUGGESTIONS, AnimalField, animalFieldSuggestions, lookUpAnimal } from './animal-field.tsx';
import { type FieldErrors, type FormValues, textOf } from './page-kit.tsx';

// The scan page's "Farm and animal" form (POST /scans/{id}/assignment): the animal link and the farm
// of a scan, written by the API's updateScan (PATCH /api/v1/scans/{id}) with its rules and refusals.
// The animal is typed — its ear tag or EID (animal-field.tsx) — and looked up on the form's farm.

/** The API's field names as the form's labels (updateScan's problems name `animal_id`: the `animal` field). */
export const ASSIGNMENT_LABELS = { farm_id: 'Farm', animal_id: 'Animal' };

export type AssignmentValues = { farm_id: string; animal: string };
export type AssignmentForm = { values: AssignmentValues; errors: FieldErrors };

type Option = { value: string; label: string };
export type AssignmentChoices = {
  /** The farms the viewer may write, when one of them is not the scan's (else no Farm select). */
  farms: Option[] | null;
  /** The tags of the shown farm's animals, when it has at most ANIMAL_SUGGESTIONS; null: more. */
  suggestions: { value: string; label?: string }[] | null;
};

type Current = { farm: { id: string } | null; animal: { id: string; tag_id: string } | null };

/**
 * What the form offers: the farms the viewer may write (a Farm select only when there is another
 * than the scan's: more than one, or one for a scan without a farm) and the tags of the animals of
 * `farmId` (the farm chosen in a form shown again, else the scan's) when that herd is small.
 */
export async function assignmentChoices(
  sql: Db,
  principal: Principal,
  scan: Current,
  farmId: string | undefined,
): Promise<AssignmentChoices> {
  const farms = (await listFarms(sql, principal)).filter((f) => f.can_edit);
  const shownFarm = farmId && farms.some((f) => f.id === farmId) ? farmId : scan.farm?.id;
  return {
    farms: farms.some((f) => f.id !== scan.farm?.id)
      ? farms.map((f) => ({ value: f.id, label: f.name }))
      : null,
    suggestions: shownFarm ? await animalFieldSuggestions(sql, principal, shownFarm) : [],
  };
}

export type AssignmentPlan = { ok: true; changes: ScanChanges } | { ok: false; errors: FieldErrors };

/**
 * The posted form as the API's PATCH body, with only what was changed. The Animal text is compared
 * with the text the page showed (`animal_shown`) and the Farm with `farm_was`: a field left alone
 * writes nothing (a scan whose animal the viewer cannot see keeps it). Changed text is looked up on
 * the form's farm (lookUpAnimal: ear tag, EID); empty text unlinks. A farm chosen anew always sends
 * the animal, looked up on the new farm: the same ear tag there, or none — never the old farm's.
 * A form from before the field was typed (an `animal_id` select, no `animal`) is read as it was meant.
 */
export async function assignmentChanges(
  sql: Db,
  principal: Principal,
  form: FormValues,
): Promise<AssignmentPlan> {
  const farm = textOf(form, 'farm_id').trim();
  const farmWas = textOf(form, 'farm_was');
  const select = !('animal' in form) && 'animal_id' in form;
  const typed = normalizeTypedName(textOf(form, select ? 'animal_id' : 'animal'));
  const shown = normalizeTypedName(textOf(form, select ? 'animal_was' : 'animal_shown'));
  const farmChanged = farm !== '' && farm !== farmWas;
  const changes: ScanChanges = farmChanged ? { farm_id: farm } : {};
  if (!farmChanged && typed === shown) return { ok: true, changes };
  if (typed === '') return { ok: true, changes: { ...changes, animal_id: null } };
  // A farm that is no id is the schema's 422 beside Farm (validated by the caller); nothing to look up.
  if (farmChanged && !canonicalUuid(farm)) return { ok: true, changes };
  const farmId = canonicalUuid(farmChanged ? farm : farmWas);
  if (!farmId) {
    return { ok: false, errors: { animal: 'Choose the farm first: the animal is looked up on it.' } };
  }
  const found = await lookUpAnimal(sql, principal, typed, { farmId });
  if (!found.ok) return { ok: false, errors: { animal: found.error } };
  return { ok: true, changes: { ...changes, animal_id: found.animal.id } };
}

export function AssignmentSection({
  scanId,
  current,
  choices,
  csrf,
  form,
}: {
  scanId: string;
  current: Current;
  choices: AssignmentChoices;
  csrf: string;
  form?: AssignmentForm;
}) {
  const errors = form?.errors ?? {};
  const farmWas = current.farm?.id ?? '';
  const shown = current.animal?.tag_id ?? '';
  return (
    <section id="assignment" aria-labelledby="assignment-title">
      <h2 id="assignment-title">Farm and animal</h2>
      <form method="post" action={`/scans/${scanId}/assignment`} novalidate>
        <input type="hidden" name="_csrf" value={csrf} />
        <input type="hidden" name="farm_was" value={farmWas} />
        <input type="hidden" name="animal_shown" value={shown} />
        {/* Without a Farm select (one writable farm) a farm problem is only in the summary. */}
        <ErrorSummary
          errors={errors}
          fieldIds={{ _form: 'field-animal', ...(choices.farms ? {} : { farm_id: 'field-animal' }) }}
        />
        <div class="filters">
          {choices.farms && (
            <SelectField
              name="farm_id"
              label="Farm"
              placeholder={current.farm ? undefined : 'Unassigned'}
              options={choices.farms}
              value={form?.values.farm_id || farmWas}
              error={errors.farm_id}
              hint="Moving a scan needs rights on both farms; its animal is looked up on the new farm."
            />
          )}
          <AnimalField
            value={form ? form.values.animal : shown}
            error={errors.animal}
            suggestions={choices.suggestions}
            hint={
              choices.suggestions === null
                ? `Type its ear tag or 15-digit EID (the farm has over ${ANIMAL_SUGGESTIONS} animals, too many to list). Empty: no animal.`
                : 'Type or pick its ear tag, or type its 15-digit EID. Empty: no animal.'
            }
          />
        </div>
        <Button>Save farm and animal</Button>
      </form>
    </section>
  );
}
