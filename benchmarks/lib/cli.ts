/**
 * Small helpers the in-process benchmarks share: a positive-integer option from
 * argv, and a seeded random generator (mulberry32) so every run draws the
 * same inputs and runs compare like with like.
 */

/** `--name N` from argv (a positive safe integer), else `dflt`; anything else throws naming the option. */
export function argNumber(name: string, dflt: number, argv: readonly string[] = process.argv): number {
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(argv[i + 1]) : dflt;
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

/** mulberry32: a seeded generator of numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
