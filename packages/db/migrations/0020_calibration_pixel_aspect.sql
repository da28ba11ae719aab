-- Migration 20: a device calibration may declare the pixel aspect (issue 11: non-square pixels).
--
-- pixel_aspect = the physical width of one image pixel ÷ its physical height (the definition is in
-- packages/contracts/README.md, "Pixel aspect"): 1 is square, a frame grabber's 720×480 of a 4:3 picture
-- is 0.889. pixel_spacing_mm stays the vertical (depth-axis) spacing; grading takes the horizontal one as
-- pixel_spacing_mm × pixel_aspect, so every area in cm² is multiplied by it. The on-screen depth ruler
-- only measures the vertical axis, so whoever knows the capture chain declares the aspect: meta.json
-- acquisition.pixel_aspect first, else this column of the calibration that applies, else square.
--
-- Nullable and additive: NULL (every existing row) means the row declares no aspect, i.e. square unless
-- meta.json says otherwise — grading is unchanged for them. A withdrawal row (no spacing) declares none
-- either. The range is PIXEL_ASPECT_RANGE in @cti/contracts; numeric(5, 4) keeps 0.8889 as typed.
ALTER TABLE device_calibrations ADD COLUMN pixel_aspect numeric(5, 4);
ALTER TABLE device_calibrations ADD CONSTRAINT device_calibrations_aspect_check CHECK (
  pixel_aspect IS NULL OR (pixel_aspect >= 0.5 AND pixel_aspect <= 2 AND pixel_spacing_mm IS NOT NULL)
);
