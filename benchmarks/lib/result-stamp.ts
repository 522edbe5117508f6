/**
 * The time stamp in a result file's name (`20261207T034624Z`): each run writes
 * its own files under benchmarks/results/, so no run overwrites another's (the
 * committed ones are examples).
 */
export function resultStamp(at: Date | string): string {
  const iso = typeof at === 'string' ? at : at.toISOString();
  return iso.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}
