/**
 * Route definitions of the operator API (paths relative to the `/v1` mount).
 * Body routes carry the JSON body middleware so 413/415/malformed JSON are
 * decided before validation.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { jsonBody } from './http.js';
import {
  CallParam,
  CarrierCreateSchema,
  CarrierParams,
  CarrierSchema,
  CarrierUpdateSchema,
  DrillResultSchema,
  DrillSchema,
  ErrorSchema,
  LinkActionSchema,
  LinkParams,
  LinkStateSchema,
  NodeSchema,
  RegionParam,
  RegionViewSchema,
} from './schemas.js';

export const SECURITY_SCHEME = 'operatorBasic';
const security = [{ [SECURITY_SCHEME]: [] }];
const tags = ['operator'];

const json = <T extends z.ZodTypeAny>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});
const err = (description: string) => json(ErrorSchema, description);
const common = { 401: err('Operator credentials missing or wrong') };
const bodyErrors = {
  400: err('A field is invalid; `field` names it'),
  413: err('Body over 1 MiB'),
  415: err('Body is not application/json'),
};

export const listRegions = createRoute({
  method: 'get',
  path: '/regions',
  tags,
  security,
  summary: 'Every region of the catalog: signaling, media and central media nodes from discovery, and the state of its links',
  responses: { 200: json(z.object({ regions: z.array(RegionViewSchema) }), 'Regions'), ...common },
});

export const listNodes = createRoute({
  method: 'get',
  path: '/regions/{region}/nodes',
  tags,
  security,
  summary: 'Signaling and media nodes of a region with health, load and last ping',
  request: { params: RegionParam },
  responses: {
    200: json(z.object({ region: z.string(), nodes: z.array(NodeSchema) }), 'Nodes'),
    404: err('Unknown region'),
    ...common,
  },
});

export const listCarriers = createRoute({
  method: 'get',
  path: '/regions/{region}/carriers',
  tags,
  security,
  summary: 'Carriers peering with a region',
  request: { params: RegionParam },
  responses: {
    200: json(z.object({ region: z.string(), carriers: z.array(CarrierSchema) }), 'Carriers'),
    404: err('Unknown region'),
    ...common,
  },
});

export const createCarrier = createRoute({
  method: 'post',
  path: '/regions/{region}/carriers',
  tags,
  security,
  summary: 'Add a carrier: allowed source addresses, outbound proxy, number prefixes',
  middleware: jsonBody(),
  request: {
    params: RegionParam,
    body: { content: { 'application/json': { schema: CarrierCreateSchema } }, required: true },
  },
  responses: {
    201: json(CarrierSchema, 'Created'),
    404: err('Unknown region'),
    409: err('Another carrier of the region has this name'),
    ...bodyErrors,
    ...common,
  },
});

export const getCarrier = createRoute({
  method: 'get',
  path: '/regions/{region}/carriers/{sid}',
  tags,
  security,
  summary: 'One carrier',
  request: { params: CarrierParams },
  responses: { 200: json(CarrierSchema, 'Carrier'), 404: err('Unknown region or carrier'), ...common },
});

export const updateCarrier = createRoute({
  method: 'post',
  path: '/regions/{region}/carriers/{sid}',
  tags,
  security,
  summary: 'Update a carrier (only the fields given; outboundProxy null removes it)',
  middleware: jsonBody(),
  request: {
    params: CarrierParams,
    body: { content: { 'application/json': { schema: CarrierUpdateSchema } }, required: true },
  },
  responses: {
    200: json(CarrierSchema, 'Updated'),
    404: err('Unknown region or carrier'),
    409: err('Another carrier of the region has this name'),
    ...bodyErrors,
    ...common,
  },
});

export const deleteCarrier = createRoute({
  method: 'delete',
  path: '/regions/{region}/carriers/{sid}',
  tags,
  security,
  summary: 'Remove a carrier',
  request: { params: CarrierParams },
  responses: { 204: { description: 'Deleted' }, 404: err('Unknown region or carrier'), ...common },
});

export const getPlacements = createRoute({
  method: 'get',
  path: '/calls/{callSid}/placements',
  tags,
  security,
  summary: 'Placement trace of a call: each media placement with its reason',
  request: { params: CallParam },
  responses: {
    200: json(z.object({ callSid: z.string(), placements: z.any().openapi({ description: 'The trace as the placement policy records it' }) }), 'Placement trace'),
    404: err('Unknown call'),
    ...common,
  },
});

export const runDrill = createRoute({
  method: 'post',
  path: '/drills',
  tags,
  security,
  summary: 'Failover drill on the local mesh: drain, undrain or kill a node of any region',
  middleware: jsonBody(),
  request: { body: { content: { 'application/json': { schema: DrillSchema } }, required: true } },
  responses: {
    200: json(DrillResultSchema, 'Drill done'),
    404: err('Unknown node, or a node of a region outside the catalog (undrain: unknown and not drained)'),
    409: err('Kill: no local mesh process table, the process is not running, or no process of the signaling node holds its lease (a takeover is under way; Retry-After)'),
    504: err('Drill did not finish in time'),
    ...bodyErrors,
    ...common,
  },
});

export const getLink = createRoute({
  method: 'get',
  path: '/regions/{a}/links/{b}',
  tags,
  security,
  summary: 'Whether the emulated link between two regions is cut by a drill',
  request: { params: LinkParams },
  responses: {
    200: json(LinkStateSchema, 'Link state'),
    400: err('The two regions are the same'),
    404: err('Unknown region'),
    ...common,
  },
});

export const setLink = createRoute({
  method: 'post',
  path: '/regions/{a}/links/{b}',
  tags,
  security,
  summary: 'Link cut drill: cut the emulated link between two regions (both directions drop everything) or restore it',
  middleware: jsonBody(),
  request: {
    params: LinkParams,
    body: { content: { 'application/json': { schema: LinkActionSchema } }, required: true },
  },
  responses: {
    200: json(LinkStateSchema, 'Link state after the action'),
    404: err('Unknown region'),
    409: err('Too many links cut at once'),
    ...bodyErrors,
    ...common,
  },
});

/** Every path (hono syntax) with the methods it serves, for 405 + Allow. */
export const ALLOWED_METHODS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['/regions', ['GET', 'HEAD']],
  ['/regions/:region/nodes', ['GET', 'HEAD']],
  ['/regions/:region/carriers', ['GET', 'HEAD', 'POST']],
  ['/regions/:region/carriers/:sid', ['GET', 'HEAD', 'POST', 'DELETE']],
  ['/calls/:callSid/placements', ['GET', 'HEAD']],
  ['/regions/:a/links/:b', ['GET', 'HEAD', 'POST']],
  ['/drills', ['POST']],
];
