/**
 * `HomeRegion` of accounts, subaccounts and numbers: any region of the
 * catalog the control plane was started with (`TenantApiDeps.regions`). An
 * unknown one is a 400 that lists the valid regions, so a client can correct
 * it without reading the operator API.
 */
import { badParam } from './errors.js';

/** The region, when the catalog has it; else MeshError BAD_REQUEST naming `HomeRegion` and the regions. */
export function checkHomeRegion(regions: readonly string[], region: string): string {
  if (!regions.includes(region)) throw badParam('HomeRegion', `unknown region ${region}; regions: ${[...regions].sort().join(', ')}`);
  return region;
}
