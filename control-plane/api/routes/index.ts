import type { OpenAPIHono } from '@hono/zod-openapi';
import type { TenantEnv } from '../types.js';
import { registerApplicationRoutes } from './applications.js';
import { registerAuthorizationRoutes } from './authorizations.js';
import { registerKeyRoutes } from './keys.js';
import { registerNumberRoutes } from './numbers.js';
import { registerPlacementRoutes } from './placements.js';
import { registerPriceOverrideRoutes } from './price-overrides.js';
import { registerQueueMemberRoutes } from './queue-members.js';
import { registerQueueRoutes } from './queues.js';
import { registerRecordingRoutes } from './recordings.js';
import { registerTrackerRoutes } from './trackers.js';
import { registerUsageRoutes } from './usage.js';

/** Routes beyond Accounts and Calls. */
export function registerResourceRoutes(app: OpenAPIHono<TenantEnv>): void {
  registerApplicationRoutes(app);
  registerNumberRoutes(app);
  registerRecordingRoutes(app);
  registerPlacementRoutes(app);
  registerQueueRoutes(app);
  registerQueueMemberRoutes(app);
  registerUsageRoutes(app);
  registerKeyRoutes(app);
  registerAuthorizationRoutes(app);
  registerTrackerRoutes(app);
  registerPriceOverrideRoutes(app);
}
