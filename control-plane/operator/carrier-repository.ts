/**
 * Carrier CRUD for the operator API, on the shared key layout
 * (regions/store/schema.ts, keys in keys.ts: `carrier:{sid}` JSON + `region:{r}:carriers` set).
 * Writes are Lua scripts so the existence check, the name-uniqueness check and
 * the write are one atomic step even with several control-plane processes.
 */
import { newSid } from '../../regions/store/sids.js';
import type { Redis } from 'ioredis';
import { MeshError } from '../../regions/core/errors.js';
import { keys } from '../../regions/store/keys.js';
import { apiDate, type CarrierRecord } from '../../regions/store/schema.js';
import { loadCarriers } from '../../regions/store/carriers.js';

/** Upper bound on carriers per region: the admission table is rebuilt from all of them. */
export const MAX_CARRIERS_PER_REGION = 1000;

export interface CarrierInput {
  name: string;
  allowedSources: string[];
  outboundProxy?: string;
  prefixes: string[];
}

export interface CarrierPatch {
  name?: string;
  allowedSources?: string[];
  /** null clears it. */
  outboundProxy?: string | null;
  prefixes?: string[];
}

// KEYS[1] region set, KEYS[2] carrier key; ARGV: mode, sid, json, name, carrier-key prefix, max.
const SAVE_SCRIPT = `
local exists = redis.call('SISMEMBER', KEYS[1], ARGV[2]) == 1
if ARGV[1] == 'create' and exists then return 'EXISTS' end
if ARGV[1] == 'update' and not exists then return 'NOT_FOUND' end
local members = redis.call('SMEMBERS', KEYS[1])
if ARGV[1] == 'create' and #members >= tonumber(ARGV[6]) then return 'FULL' end
local wanted = string.lower(ARGV[4])
for _, sid in ipairs(members) do
  if sid ~= ARGV[2] then
    local v = redis.call('GET', ARGV[5] .. sid)
    if v then
      local ok, rec = pcall(cjson.decode, v)
      if ok and type(rec) == 'table' and type(rec.name) == 'string' and string.lower(rec.name) == wanted then
        return 'CONFLICT'
      end
    end
  end
end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[1], ARGV[2])
return 'OK'
`;

// KEYS[1] region set, KEYS[2] carrier key; ARGV[1] sid.
const DELETE_SCRIPT = `
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
return 1
`;

export function newCarrierSid(): string {
  return newSid('CR');
}

export class CarrierRepository {
  private readonly k: ReturnType<typeof keys>;

  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {
    this.k = keys(keyPrefix);
  }

  list(region: string): Promise<CarrierRecord[]> {
    return loadCarriers(this.redis, this.keyPrefix, region);
  }

  /** The carrier, or undefined when it does not exist or belongs to another region. */
  async get(region: string, sid: string): Promise<CarrierRecord | undefined> {
    const raw = await this.redis.get(this.k.carrier(sid));
    if (raw === null) return undefined;
    try {
      const rec = JSON.parse(raw) as CarrierRecord;
      return rec.region === region ? rec : undefined;
    } catch {
      return undefined;
    }
  }

  async create(region: string, input: CarrierInput): Promise<CarrierRecord> {
    const rec: CarrierRecord = {
      sid: newCarrierSid(),
      region,
      name: input.name,
      allowedSources: [...input.allowedSources],
      ...(input.outboundProxy === undefined ? {} : { outboundProxy: input.outboundProxy }),
      prefixes: [...input.prefixes],
      dateCreated: apiDate(),
    };
    await this.save('create', rec);
    return rec;
  }

  async update(region: string, sid: string, patch: CarrierPatch): Promise<CarrierRecord> {
    const current = await this.get(region, sid);
    if (current === undefined) throw new MeshError('NOT_FOUND', `carrier ${sid} not found in region ${region}`);
    const next: CarrierRecord = {
      ...current,
      ...(patch.name === undefined ? {} : { name: patch.name }),
      ...(patch.allowedSources === undefined ? {} : { allowedSources: [...patch.allowedSources] }),
      ...(patch.prefixes === undefined ? {} : { prefixes: [...patch.prefixes] }),
    };
    if (patch.outboundProxy === null) delete next.outboundProxy;
    else if (patch.outboundProxy !== undefined) next.outboundProxy = patch.outboundProxy;
    await this.save('update', next);
    return next;
  }

  /** Deletes the carrier; NOT_FOUND when it is not in that region. */
  async delete(region: string, sid: string): Promise<void> {
    const n = await this.redis.eval(DELETE_SCRIPT, 2, this.k.regionCarriers(region), this.k.carrier(sid), sid);
    if (n !== 1) throw new MeshError('NOT_FOUND', `carrier ${sid} not found in region ${region}`);
  }

  private async save(mode: 'create' | 'update', rec: CarrierRecord): Promise<void> {
    const result = await this.redis.eval(
      SAVE_SCRIPT,
      2,
      this.k.regionCarriers(rec.region),
      this.k.carrier(rec.sid),
      mode,
      rec.sid,
      JSON.stringify(rec),
      rec.name,
      this.k.carrier(''),
      String(MAX_CARRIERS_PER_REGION),
    );
    switch (result) {
      case 'OK':
        return;
      case 'CONFLICT':
        throw new MeshError('CONFLICT', `a carrier named "${rec.name}" already exists in region ${rec.region}`, {
          detail: { field: 'name' },
        });
      case 'NOT_FOUND':
        throw new MeshError('NOT_FOUND', `carrier ${rec.sid} not found in region ${rec.region}`);
      case 'EXISTS':
        throw new MeshError('CONFLICT', `carrier ${rec.sid} already exists`);
      case 'FULL':
        throw new MeshError('CONFLICT', `region ${rec.region} already has ${MAX_CARRIERS_PER_REGION} carriers`);
      default:
        throw new MeshError('INTERNAL', `unexpected carrier save result ${String(result)}`);
    }
  }
}
