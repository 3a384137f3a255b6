/**
 * Schema keywords of our own, checked by the API's Ajv instances
 * (`api/plugins/validation.ts`). The `x-` prefix keeps them annotations for
 * every other reader of the OpenAPI document.
 */
export const keywords = {
  /** On a string: lower-cased in place once it validates (IDs). */
  lowercase: 'x-lowercase',
  /** On a date-time string: within the accepted range of `domain/time.ts`. */
  userTime: 'x-user-time',
  /** On free JSON: `{ maxDepth, maxBytes }` (`domain/json.ts`). */
  jsonLimits: 'x-json-limits',
} as const;
