/**
 * The plausible range of `pixel_aspect` (a pixel's physical width ÷ its physical height); outside it is
 * a mistake, not a scanner. Its own module (export `@cti/contracts/pixel-aspect`) so that a tool that
 * only checks the range — the `cti-models` CLI — does not load the index, which compiles Ajv schemas.
 */
export const PIXEL_ASPECT_RANGE = [0.5, 2] as const;
