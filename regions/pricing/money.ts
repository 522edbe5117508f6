/**
 * Money without floats: every price is an integer number of micro-units
 * (1 USD = 1 000 000 µUSD). Decks hold decimal strings with at most six
 * decimals; arithmetic is on integers (a sum of 10^9 calls at 100 USD stays
 * below Number.MAX_SAFE_INTEGER µUSD), and rendering goes back to a decimal
 * string. Six decimals cover every rate the real price lists publish
 * (`0.0140`, `0.00850`).
 */
import { MeshError } from '../core/errors.js';

export const MICROS_PER_UNIT = 1_000_000;
/** At most 4 integer digits and 6 decimals: 9999.999999 per minute is the most a deck may say. */
export const PRICE_PATTERN = /^\d{1,4}(\.\d{1,6})?$/;

/** `"0.0140"` → 14000. Throws BAD_REQUEST naming `field` for anything else (negative, exponent, more than 6 decimals). */
export function parsePrice(value: string, field = 'Price'): number {
  if (!PRICE_PATTERN.test(value)) {
    throw new MeshError('BAD_REQUEST', `Invalid parameter ${field}: must be a decimal such as 0.0140 (at most 4 integer digits and 6 decimals), got "${value.slice(0, 32)}"`, { detail: { field } });
  }
  const [whole, frac = ''] = value.split('.') as [string, string | undefined];
  return Number(whole) * MICROS_PER_UNIT + Number(frac.padEnd(6, '0'));
}

/**
 * µ-units → decimal string with at least `minDecimals` decimals (trailing zeros beyond
 * them dropped): 28000 → "0.02800" (5, as the API shows call prices), 14000 → "0.014" (3).
 */
export function formatMicros(micros: number, minDecimals = 5): string {
  if (!Number.isSafeInteger(micros)) throw new MeshError('INTERNAL', `price ${micros} µ-units is not a safe integer`);
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  const whole = Math.floor(abs / MICROS_PER_UNIT);
  let frac = String(abs % MICROS_PER_UNIT).padStart(6, '0');
  while (frac.length > minDecimals && frac.endsWith('0')) frac = frac.slice(0, -1);
  return frac === '' ? `${sign}${whole}` : `${sign}${whole}.${frac}`;
}

/** Billable minutes of `durationS` seconds: each started minute counts, and an answered call at least one. */
export function startedMinutes(durationS: number): number {
  return Math.max(1, Math.ceil(durationS / 60));
}
