export type GpsFix = { lat: number; lon: number; accuracy_m?: number; alt_m?: number };

function checksumOk(sentence: string): boolean {
  const star = sentence.lastIndexOf('*');
  if (star < 0) return false;
  let sum = 0;
  for (let i = 1; i < star; i++) sum ^= sentence.charCodeAt(i);
  return sum === Number.parseInt(sentence.slice(star + 1, star + 3), 16);
}

/**
 * ddmm.mmmm + hemisphere → signed decimal degrees, or null when it is no coordinate: the XOR checksum
 * lets one corrupted line in 256 through, and a latitude of 95 or a minute of 75 went into meta.json,
 * where buildMeta refused the capture as an agent bug (InvalidMetaError).
 */
function coordinate(value: string, hemi: string, degDigits: number): number | null {
  if (!/^\d+(\.\d+)?$/.test(value) || value.indexOf('.') > degDigits + 2) return null;
  const deg = Number(value.slice(0, degDigits));
  const min = Number(value.slice(degDigits));
  const v = deg + min / 60;
  if (min >= 60 || v > (degDigits === 2 ? 90 : 180)) return null;
  if (!['N', 'S', 'E', 'W'].includes(hemi)) return null;
  return hemi === 'S' || hemi === 'W' ? -v : v;
}

/** A GGA number field that meta.json can hold (finite, and ≥ 0 when `nonNegative`), else undefined. */
function field(value: string | undefined, nonNegative: boolean): number | undefined {
  if (!value || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && (!nonNegative || n >= 0) ? n : undefined;
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * Parse one NMEA 0183 sentence. GGA (fix quality, HDOP, altitude) and RMC (status A) give a fix; other
 * sentences, bad checksums and "no fix" return null. Accuracy is approximated as HDOP × 5 m (a typical
 * UERE for consumer receivers), which is what dashboards need to tell a good fix from a poor one.
 */
export function parseNmea(line: string): GpsFix | null {
  const sentence = line.trim();
  if (!sentence.startsWith('$') || !checksumOk(sentence)) return null;
  const f = sentence.slice(1, sentence.lastIndexOf('*')).split(',');
  const type = f[0]?.slice(2);
  if (type === 'GGA') {
    if (!f[6] || f[6] === '0') return null;
    const lat = coordinate(f[2] ?? '', f[3] ?? '', 2);
    const lon = coordinate(f[4] ?? '', f[5] ?? '', 3);
    if (lat === null || lon === null) return null;
    const fix: GpsFix = { lat: round(lat, 7), lon: round(lon, 7) };
    const hdop = field(f[8], true);
    const alt = field(f[9], false);
    if (hdop !== undefined) fix.accuracy_m = round(hdop * 5, 1);
    if (alt !== undefined) fix.alt_m = alt;
    return fix;
  }
  if (type === 'RMC') {
    if (f[2] !== 'A') return null;
    const lat = coordinate(f[3] ?? '', f[4] ?? '', 2);
    const lon = coordinate(f[5] ?? '', f[6] ?? '', 3);
    return lat === null || lon === null ? null : { lat: round(lat, 7), lon: round(lon, 7) };
  }
  return null;
}
