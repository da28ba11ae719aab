-- Migration 21: a device calibration may declare the pixel aspect alone (issue 11: non-square pixels).
--
-- Migration 20 let a row declare pixel_aspect only beside a pixel_spacing_mm. That ruled out the case the
-- aspect exists for: a portable scanner's analogue video captured by a frame grabber (720×480 of a 4:3
-- picture, aspect 0.889) whose depth the technician changes from animal to animal, so its spacing comes
-- from the on-screen depth ruler, read on every frame. A spacing fixed on the row to be allowed the
-- aspect made every frame at another depth a spacing_conflict with the ruler (figures withheld), or wrong.
--
-- A row now carries one of four things (the row that applies to a capture is still the newest of its
-- device with valid_from at or before the capture time whose image size matches or names none):
--   pixel_spacing_mm, pixel_aspect  spacing and aspect: the spacing after meta.json's, the aspect after
--                                   meta.json's;
--   pixel_spacing_mm, NULL          a spacing, no aspect declared (square unless meta.json says otherwise);
--   NULL, pixel_aspect              aspect only: the spacing comes from meta.json or the on-screen ruler,
--                                   and the row is no spacing calibration (no spacing_conflict against it);
--   NULL, NULL                      a withdrawal of both (`cti-server calibration clear`).
-- The ranges are unchanged: device_calibrations_spacing_check (migration 9) and PIXEL_ASPECT_RANGE in
-- @cti/contracts. The constraint keeps its name, so whatever branches on it still does.
ALTER TABLE device_calibrations DROP CONSTRAINT device_calibrations_aspect_check;
ALTER TABLE device_calibrations ADD CONSTRAINT device_calibrations_aspect_check CHECK (
  pixel_aspect IS NULL OR (pixel_aspect >= 0.5 AND pixel_aspect <= 2)
);
