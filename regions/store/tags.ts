/**
 * Tags (our extension): short labels a tenant puts on an Application, an
 * IncomingPhoneNumber or an API-created call, so trackers can measure the
 * calls that carry them. A call made through a tagged number or application
 * carries their tags too (`callTags`): its own (≤ 10), its number's (≤ 10)
 * and its application's (≤ 10), at most `MAX_CALL_TAGS` in all.
 */

/** One tag: lowercase letters, digits, `_` and `-`, 1 to 32 characters. */
export const TAG_PATTERN = /^[a-z0-9_-]{1,32}$/;
/** Tags one resource (application, number, call, tracker) may carry. */
export const MAX_TAGS = 10;
/** Tags a call may carry once its number's and application's are added: own + number + application. */
export const MAX_CALL_TAGS = 3 * MAX_TAGS;

export function isTag(value: string): boolean {
  return TAG_PATTERN.test(value);
}

/** Tags as stored: valid ones only, duplicates removed, sorted (so two spellings of a set compare equal). */
export function normalizeTags(tags: readonly string[] | undefined, max = MAX_TAGS): string[] {
  if (tags === undefined) return [];
  return [...new Set(tags.filter(isTag))].sort().slice(0, max);
}

/** The tags of a call: the union of its own and those of the number and application it came through. */
export function callTags(...sources: (readonly string[] | undefined)[]): string[] {
  return normalizeTags(sources.flatMap((s) => s ?? []), MAX_CALL_TAGS);
}

/** Whether a call with `callTags` has every tag of `required` (a tracker's tags; all must match). */
export function hasAllTags(callTags: readonly string[], required: readonly string[]): boolean {
  if (required.length === 0) return false;
  const have = new Set(callTags);
  return required.every((t) => have.has(t));
}
