import { listAnimals } from '../../access/animal-queries.ts';
import type { Db } from '../../access/farm-access.ts';
import { listFarms } from '../../access/farm-queries.ts';
import type { ScanChanges } from '../../access/scan-update.ts';
import type { Principal } from '../../auth/principal.ts';
import { Button } from '../components/button.tsx';
import { ErrorSummary, SelectField } from '../components/form-field.tsx';
import { type FieldErrors, type FormValues, textOf } from './page-kit.tsx';

// The scan page's "Farm and animal" form (POST /scans/{id}/assignment): the animal link and the farm
// of a scan, written by the API's updateScan (PATCH /api/v1/scans/{id}) with its rules and refusals.

export const ASSIGNMENT_LABELS = { farm_id: 'Farm', animal_id: 'Animal' };

/** At most this many animals in the select (by tag); the scan's own animal is always among them. */
export const ANIMAL_CHOICES = 1000;

export type AssignmentValues = { farm_id: string; animal_id: string };
export type AssignmentForm = { values: AssignmentValues; errors: FieldErrors };

type Option = { value: string; label: string };
export type AssignmentChoices = {
  /** The farms the viewer may write, when one of them is not the scan's (else no Farm select). */
  farms: Option[] | null;
  /** The animals of the farm shown in the form (the scan's, or the one chosen before an error). */
  animals: Option[];
  /** More animals than ANIMAL_CHOICES on that farm. */
  more: boolean;
};

type Current = { farm: { id: string } | null; animal: { id: string; tag_id: string } | null };

/**
 * What the form offers: the farms the viewer may write (a Farm select only when there is another
 * than the scan's: more than one, or one for a scan without a farm) and, by tag, the animals of
 * `farmId` (the farm chosen in a form shown again, else the scan's).
 */
export async function assignmentChoices(
  sql: Db,
  principal: Principal,
  scan: Current,
  farmId: string | undefined,
): Promise<AssignmentChoices> {
  const farms = (await listFarms(sql, principal)).filter((f) => f.can_edit);
  const shownFarm = farmId && farms.some((f) => f.id === farmId) ? farmId : scan.farm?.id;
  const rows = shownFarm
    ? await listAnimals(sql, principal, { farm_id: shownFarm, limit: ANIMAL_CHOICES + 1 })
    : [];
  const animals = rows.slice(0, ANIMAL_CHOICES).map((a) => ({ value: a.id, label: a.tag_id }));
  const own = scan.animal;
  if (own && shownFarm === scan.farm?.id && !animals.some((a) => a.value === own.id)) {
    animals.push({ value: own.id, label: own.tag_id });
  }
  return {
    farms: farms.some((f) => f.id !== scan.farm?.id)
      ? farms.map((f) => ({ value: f.id, label: f.name }))
      : null,
    animals,
    more: rows.length > ANIMAL_CHOICES,
  };
}

/**
 * The posted form as the API's PATCH body, with only what was changed: each select is compared with
 * the value the page showed (`farm_was`, `animal_was`), so a field left alone writes nothing (a scan
 * whose animal the viewer cannot see keeps it). A farm chosen anew sends the animal too, so an animal
 * of the old farm is named beside Animal.
 */
export function assignmentChanges(form: FormValues): ScanChanges {
  const farm = textOf(form, 'farm_id').trim();
  const animal = textOf(form, 'animal_id').trim();
  const changes: ScanChanges = {};
  const farmChanged = farm !== '' && farm !== textOf(form, 'farm_was');
  if (farmChanged) changes.farm_id = farm;
  if (farmChanged || animal !== textOf(form, 'animal_was')) changes.animal_id = animal || null;
  return changes;
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
  const animalWas = current.animal?.id ?? '';
  return (
    <section id="assignment" aria-labelledby="assignment-title">
      <h2 id="assignment-title">Farm and animal</h2>
      <form method="post" action={`/scans/${scanId}/assignment`} novalidate>
        <input type="hidden" name="_csrf" value={csrf} />
        <input type="hidden" name="farm_was" value={farmWas} />
        <input type="hidden" name="animal_was" value={animalWas} />
        {/* Without a Farm select (one writable farm) a farm problem is only in the summary. */}
        <ErrorSummary
          errors={errors}
          fieldIds={{ _form: 'field-animal_id', ...(choices.farms ? {} : { farm_id: 'field-animal_id' }) }}
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
              hint="Moving a scan needs rights on both farms; its animal must be one of the new farm's."
            />
          )}
          <SelectField
            name="animal_id"
            label="Animal"
            placeholder="None"
            options={choices.animals}
            value={form ? form.values.animal_id : animalWas}
            error={errors.animal_id}
            hint={
              choices.more
                ? `The farm's first ${ANIMAL_CHOICES} animals by tag.`
                : "The farm's animals by tag, or none."
            }
          />
        </div>
        <Button>Save farm and animal</Button>
      </form>
    </section>
  );
}
