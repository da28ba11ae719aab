// Test helper (excluded from the build): awkward values for the tests that compare what Postgres writes
// with what Node writes (csv-sql.test.ts, geojson-sql.test.ts).

/** Doubles spread over every exponent, with few and many digits, and both signs. */
export function doubles(): number[] {
  const out = [
    1,
    -1,
    0.1,
    0.5,
    1e-4,
    9.999e-5,
    1e-5,
    1.5e-5,
    1e-6,
    1.2345e-6,
    9.99e-7,
    1e-7,
    1.2345678e-7,
    5e-324,
    2.2250738585072014e-308,
    1e15,
    1.5e15,
    999999999999999.9,
    1234567890123456.8,
    1e16,
    1.2345e20,
    1e21,
    1.5e21,
    1e22,
    1.7976931348623157e308,
    80.5,
    6.2,
    0.8732,
    -79.38,
    43.65,
    0.1 + 0.2,
    1 / 3,
    2 ** 53,
    2 ** 53 + 2,
    123456789012345680000,
  ];
  const bytes = new DataView(new ArrayBuffer(8));
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < 3000; i++) {
    // Any bit pattern (subnormals, huge, tiny), then values with a few decimals near each power of ten.
    for (let b = 0; b < 8; b++) bytes.setUint8(b, Math.floor(random() * 256));
    const any = bytes.getFloat64(0);
    if (Number.isFinite(any)) out.push(any);
    const decimals = Math.round(random() * 1e4) / 10 ** Math.floor(random() * 8);
    out.push(decimals * 10 ** Math.floor(random() * 44 - 22));
    // And many in the range Postgres writes: full-precision doubles and short decimals, 1e-4 to 1e15.
    out.push(
      random() * 10 ** (random() * 19 - 4),
      Math.round(random() * 1e6) / 10 ** Math.floor(random() * 10),
    );
  }
  return [...out, ...out.map((x) => -x)];
}
