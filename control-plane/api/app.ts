/**
 * The tenant API: /2010-04-01/Accounts/{AccountSid}/… in the shape the
 * twilio helper libraries speak, on hono + zod-openapi, state in Redis.
 *
 * Request pipeline (order matters): context → OpenAPI document (public) →
 * Basic auth → per-account rate limit → `api-requests` usage record →
 * body check (415 / 413 / malformed) → path SIDs (404 unless prefix + 32
 * hex) → account access (404 / 403) → route
 * (zod validation → 400 naming the field) → 405 / 404 for the rest.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { getPath } from 'hono/utils/url';
import { accountAccess } from './middleware/account-access.js';
import { authenticate } from './middleware/auth.js';
import { formBody } from './middleware/body.js';
import { rateLimit } from './middleware/rate-limit.js';
import { apiRequestUsage } from './middleware/usage.js';
import { notFound, renderError } from './errors.js';
import { pathSids } from './middleware/path-sids.js';
import { knownPaths, unmatchedRequestError } from './method-not-allowed.js';
import { registerAccountRoutes } from './routes/accounts.js';
import { registerCallRoutes } from './routes/calls.js';
import { registerResourceRoutes } from './routes/index.js';
import { PRICING_V2_PREFIX, registerPricingV2Routes } from './routes/pricing-v2.js';
import { AuthThrottle, DEFAULT_AUTH_THROTTLE } from '../store/auth-failures.js';
import { createStores } from './stores.js';
import type { ApiContext, TenantApiDeps, TenantEnv } from './types.js';
import { validationError } from './validation.js';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_RATE_LIMIT = { requestsPerSecond: 100, burst: 200 };
const API_PREFIX = '/2010-04-01/';

/** `/2010-04-01/…/Calls.json` and `/2010-04-01/…/Calls` are the same resource. */
function routingPath(req: Request): string {
  const path = getPath(req);
  return path.startsWith(API_PREFIX) && path.endsWith('.json') ? path.slice(0, -'.json'.length) : path;
}

export function createTenantApp(deps: TenantApiDeps): OpenAPIHono<TenantEnv> {
  const now = deps.now ?? (() => new Date());
  const api: ApiContext = {
    deps,
    stores: createStores(deps.redis, deps.keyPrefix, now),
    authThrottle: new AuthThrottle(deps.redis, deps.keyPrefix, deps.authThrottle ?? DEFAULT_AUTH_THROTTLE),
    now,
  };
  const app = new OpenAPIHono<TenantEnv>({
    getPath: routingPath,
    defaultHook: (result) => {
      // A path segment that fails its schema names no resource: 404, as an unknown SID does.
      if (!result.success) throw result.target === 'param' ? notFound(`The requested resource`) : validationError(result.error);
    },
  });
  app.onError((err, c) => renderError(err, c, deps.log));
  app.use('*', async (c, next) => {
    c.set('api', api);
    await next();
  });

  app.openAPIRegistry.registerComponent('securitySchemes', 'basicAuth', {
    type: 'http',
    scheme: 'basic',
    description: 'AccountSid:AuthToken, or ApiKeySid:Secret',
  });
  app.doc('/openapi.json', {
    openapi: '3.0.3',
    info: {
      title: 'edge-mesh tenant API',
      version: '2010-04-01',
      description: 'Every path also answers with a `.json` suffix (…/Calls.json), as the 2010-04-01 API is usually called.',
    },
    security: [{ basicAuth: [] }],
  });

  // Tenant middleware covers the tenant API only: the operator API (/v1) and /metrics
  // are mounted beside it on the same server with their own credentials.
  const tenantPaths = `${API_PREFIX}*`;
  app.use(tenantPaths, authenticate());
  app.use(tenantPaths, rateLimit(deps.rateLimit ?? DEFAULT_RATE_LIMIT));
  app.use(tenantPaths, apiRequestUsage());
  app.use(tenantPaths, formBody(deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES));
  app.use(tenantPaths, pathSids());
  app.use(`${API_PREFIX}Accounts/:AccountSid`, accountAccess());
  app.use(`${API_PREFIX}Accounts/:AccountSid/*`, accountAccess());
  // Pricing v2 answers for the caller's own account: same credentials, limits and usage, no body, no path SIDs.
  const pricingPaths = `${PRICING_V2_PREFIX}*`;
  app.use(pricingPaths, authenticate());
  app.use(pricingPaths, rateLimit(deps.rateLimit ?? DEFAULT_RATE_LIMIT));
  app.use(pricingPaths, apiRequestUsage());

  registerAccountRoutes(app);
  registerCallRoutes(app);
  registerResourceRoutes(app);
  registerPricingV2Routes(app);

  const paths = knownPaths(app);
  app.notFound((c) => renderError(unmatchedRequestError(paths, c.req.path), c, deps.log));
  return app;
}
