-- Migration 5: columns shared by several features, added once so each can build against them.
--
-- Electronic ear tags (ISO 11784/11785 FDX-B/HDX): a 15-digit number, country/manufacturer code first
-- (e.g. 982000123456789). An animal keeps its farm tag (animals.tag_id, unique per farm) and may carry
-- one EID, unique everywhere: the same physical tag cannot sit on two animals.
ALTER TABLE animals ADD COLUMN eid text;
ALTER TABLE animals ADD CONSTRAINT animals_eid_format CHECK (eid ~ '^[0-9]{15}$');
CREATE UNIQUE INDEX idx_animals_eid ON animals (eid) WHERE eid IS NOT NULL;
-- The EID the agent read at the chute for this capture (meta.json `animal.eid`). Kept even when no
-- animal with that tag exists yet, so the scan can be linked when the animal is registered.
ALTER TABLE scans ADD COLUMN animal_eid text;
ALTER TABLE scans ADD CONSTRAINT scans_animal_eid_format CHECK (animal_eid ~ '^[0-9]{15}$');
CREATE INDEX idx_scans_animal_eid ON scans (animal_eid) WHERE animal_eid IS NOT NULL AND animal_id IS NULL;

-- The image-quality grade of a grading result, in the manner of the centralized ultrasound labs:
-- A usable, M marginal (usable with caution), R reject; with machine-readable reasons
-- ('not_a_ribeye_view', 'ribeye_cut_off', 'too_dark', 'no_spacing', ...). Columns rather than keys in
-- features_used so lists, filters and reports can index them. NULL grade: a result from before grades.
ALTER TABLE grading_results ADD COLUMN grade text;
ALTER TABLE grading_results ADD CONSTRAINT grading_results_grade_check CHECK (grade IN ('A', 'M', 'R'));
ALTER TABLE grading_results ADD COLUMN grade_reasons text[] NOT NULL DEFAULT '{}';
