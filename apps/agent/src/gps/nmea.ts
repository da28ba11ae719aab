export type GpsFix = { lat: number; lon: number; accuracy_m?: number; alt_m?: number };

function checksumOk(sentence: string): boolean {
  const star = sentence.lastIndexOf('*');
  if (star < 0) return false;
  let sum = 0;
  for (let i = 1; i < star; i++) sum ^= sentence.charCodeAt(i);
  return sum === Number.parseInt(sentence.slice(star + 1, star + 3), 16);
}

/** ddmm.mmmm + hemisphere → signed decimal degrees. */
function coordinate(value: string, hemi: string, degDigits: number): number | null {
  if (!value) return null;
  const deg = Number(value.slice(0, degDigits));
  const min = Number(value.slice(degDigits));
  if (!Number.isFinite(deg) || !Number.isFinite(min)) return null;
  const v = deg + min / 60;
  return hemi === 'S' || hemi === 'W' ? -v : v;
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
    if (f[8]) fix.accuracy_m = round(Number(f[8]) * 5, 1);
    if (f[9]) fix.alt_m = Number(f[9]);
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
