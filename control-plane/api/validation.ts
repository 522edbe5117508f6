/** Turns a zod validation failure into the API's 400, naming the first bad field. */
import type { ZodError } from 'zod';
import type { MeshError } from '../../regions/core/errors.js';
import { apiError, badParam } from './errors.js';

export function validationError(error: ZodError): MeshError {
  const issue = error.issues[0];
  if (issue === undefined) return apiError('BAD_REQUEST', 'Invalid request', 20001);
  const field = String(issue.path[0] ?? 'request');
  const missing = issue.code === 'invalid_type' && issue.received === 'undefined';
  return missing ? badParam(field) : badParam(field, issue.message);
}
