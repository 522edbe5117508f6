/**
 * Reads a region's carriers for admission (signaling/b2bua/carrier-admission.ts);
 * shared by the operator API and the signaling nodes.
 * Kept tiny and free of anything but ioredis and the shared schema so the
 * signaling node can use it (or a copy) without pulling in the control plane.
 */
import type { Redis } from 'ioredis';
import { keys } from './keys.js';
import type { CarrierRecord } from './schema.js';

/** Carriers of `region`, sorted by SID; records that are missing, unparseable or of another region are skipped. */
export async function loadCarriers(redis: Redis, keyPrefix: string, region: string): Promise<CarrierRecord[]> {
  const k = keys(keyPrefix);
  const sids = (await redis.smembers(k.regionCarriers(region))).sort();
  if (sids.length === 0) return [];
  const raw = await redis.mget(...sids.map((sid) => k.carrier(sid)));
  const out: CarrierRecord[] = [];
  for (const json of raw) {
    if (json === null || json === undefined) continue;
    try {
      const rec = JSON.parse(json) as CarrierRecord;
      if (rec.region === region && Array.isArray(rec.allowedSources) && Array.isArray(rec.prefixes)) out.push(rec);
    } catch {
      // A corrupt record admits nothing rather than failing the whole region.
    }
  }
  return out;
}
