// Regular-expression sources shared by the JSON Schemas and the S3 layout helpers, so a key that the
// layout accepts is exactly a value the schemas accept. Kept as plain strings: JSON Schema `pattern`
// needs the source text, and Ajv compiles them with the `u` flag.

/** device_code: lowercase so one Pi can never appear as two devices ('Dev-1' vs 'dev-1'); max 63 chars. */
export const DEVICE_CODE_PATTERN = '^[a-z0-9][a-z0-9_-]{0,62}$';

/** capture_id: the spec's `cap_` prefix, then up to 96 URL- and key-safe characters. */
export const CAPTURE_ID_PATTERN = '^cap_[A-Za-z0-9_-]{1,96}$';

/** A plain file name inside a capture directory: no slashes, no leading dot (so no '.', '..', hidden files). */
export const FILE_NAME_PATTERN = '^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$';

/** The capture image: a plain file name ending in .png, .jpg or .jpeg. */
export const IMAGE_FILE_PATTERN = '^[A-Za-z0-9_-][A-Za-z0-9._-]{0,122}\\.(png|jpg|jpeg)$';

/** The optional segmentation mask: a plain file name ending in .png (masks must be lossless). */
export const MASK_FILE_PATTERN = '^[A-Za-z0-9_-][A-Za-z0-9._-]{0,122}\\.png$';

/** sha256 digest as 64 lowercase hex characters (the spec's `char(64)` columns). */
export const SHA256_PATTERN = '^[0-9a-f]{64}$';

/** ISO-8601 / RFC 3339 timestamp in UTC: must end in 'Z'; fractional seconds optional. */
export const UTC_TIMESTAMP_PATTERN =
  '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z$';

/** S3 bucket name (the general-purpose bucket rules: 3-63 chars, lowercase, digits, dots, hyphens). */
export const BUCKET_PATTERN = '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$';

/**
 * An S3 signing region: AWS's `ca-central-1`, and the free names S3-compatible stores use (`default`,
 * `garage`, `auto`). Letters, digits and hyphens, 1-63, no leading hyphen: no space or control
 * character can reach the SDK's signature or endpoint host.
 */
export const REGION_PATTERN = '^[A-Za-z0-9][A-Za-z0-9-]{0,62}$';

/** What REGION_PATTERN expects, in words, for error messages. */
export const REGION_EXPECTED = 'an S3 region name (1-63 letters, digits and hyphens, e.g. ca-central-1)';

/**
 * operator_id (meta.json, agent.json, the agent's session): at least one character that is not white
 * space, so a blank operator never stamps a capture. With the schemas' 1-128 characters.
 */
export const OPERATOR_ID_PATTERN = '\\S';

/** What an operator id must be, in words, for error messages. */
export const OPERATOR_ID_EXPECTED = 'an operator id: 1-128 characters, not only spaces';

/** meta_version within the major version this build reads (1.x.y). */
export const META_VERSION_1_PATTERN = '^1\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$';

/** Any semantic version, used to tell "unsupported major" apart from "not a version at all". */
export const SEMVER_PATTERN = '^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$';

/** The webhook's relative ingest_key: `raw/{device_code}/{YYYY}/{MM}/{DD}/{capture_id}/`. */
export const INGEST_KEY_PATTERN =
  '^raw/[a-z0-9][a-z0-9_-]{0,62}/[0-9]{4}/[0-9]{2}/[0-9]{2}/cap_[A-Za-z0-9_-]{1,96}/$';

/** A uuid in its canonical hyphenated form (either case), as Postgres prints and reads it. */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

/**
 * An animal's electronic ear tag (ISO 11784/11785 FDX-B/HDX) as a 15-digit number: 3 digits of country
 * (ISO 3166 numeric) or manufacturer code, then the 12-digit national id. Same rule as animals.eid.
 */
export const EID_PATTERN = '^[0-9]{15}$';

/**
 * The EID in a reader's line as the common stick and panel readers print it: 15 digits, optionally
 * with a space (or . _ -) after the 3-digit country code, anywhere in the line, so prefixes and
 * suffixes ("LA 982 000123456789", "$982000123456789#", "982 000123456789 FDX-B") do not matter;
 * digits directly before or after would make it a different number and do not match. Its capture
 * groups joined are the EID (parseEidLine). The agent's default `eid_reader.pattern`; the server reads
 * text typed or pasted into an Animal field with it.
 */
export const EID_LINE_PATTERN = '(?<![0-9])([0-9]{3})[ ._-]?([0-9]{12})(?![0-9])';
