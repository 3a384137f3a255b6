import type { FastifySchemaValidationError } from 'fastify';

/** One refused field of a request, as the problem document's `errors` lists it. */
export interface ValidationIssue {
  /** JSON pointer to the value (`/messages/0/sentAt`). */
  path: string;
  /** The field by name (`messages.0.sentAt`); the part (`body`) for the whole of it. */
  field: string;
  message: string;
  /** For enumerations: every value the field accepts. */
  allowed?: unknown[];
  /** For unknown fields: the field that is not allowed. */
  property?: string;
}

const fieldOf = (path: string) => path.slice(1).replaceAll('/', '.');
const join = (path: string, name: string) => `${path}/${name}`;

/**
 * Ajv's errors as a reader wants them: each names its field, an enumeration
 * lists its allowed values once (not "must be equal to constant" per value),
 * and a missing or unknown field is named as the field itself.
 */
export function validationIssues(
  errors: FastifySchemaValidationError[],
  part = 'body',
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const constsAt = new Map<string, unknown[]>();
  for (const error of errors) {
    if (error.keyword === 'const') {
      const values = constsAt.get(error.instancePath) ?? [];
      values.push((error.params as { allowedValue?: unknown }).allowedValue);
      constsAt.set(error.instancePath, values);
    }
  }
  const seen = new Set<string>();
  for (const error of errors) {
    const path = error.instancePath;
    const { params } = error;
    let issue: ValidationIssue;
    switch (error.keyword) {
      case 'const':
        continue;
      case 'anyOf': {
        const allowed = constsAt.get(path);
        issue = allowed
          ? { path, field: '', message: `must be one of ${allowed.join(', ')}`, allowed }
          : { path, field: '', message: error.message ?? 'is not valid' };
        break;
      }
      case 'enum': {
        const allowed = params.allowedValues as unknown[];
        issue = { path, field: '', message: `must be one of ${allowed.join(', ')}`, allowed };
        break;
      }
      case 'required': {
        const name = String(params.missingProperty);
        issue = { path: join(path, name), field: '', message: 'is required' };
        break;
      }
      case 'additionalProperties': {
        const name = String(params.additionalProperty);
        issue = {
          path: join(path, name),
          field: '',
          message: 'is not a known field',
          property: name,
        };
        break;
      }
      case 'pattern':
        issue = {
          path,
          field: '',
          message:
            params.pattern === '\\S' ? 'must not be blank' : (error.message ?? 'is not valid'),
        };
        break;
      default:
        issue = { path, field: '', message: error.message ?? 'is not valid' };
    }
    issue.field = fieldOf(issue.path) || part;
    issue.path ||= '/';
    const key = `${issue.path} ${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  // A value refused by every branch of a union (`Nullable(…)`) also fails the
  // null branch and the union itself; the specific reason is enough.
  const specific = new Set(
    issues.filter((issue) => !isUnionNoise(issue)).map((issue) => issue.path),
  );
  return issues.filter((issue) => !(isUnionNoise(issue) && specific.has(issue.path)));
}

const isUnionNoise = (issue: ValidationIssue) =>
  issue.message === 'must be null' || issue.message === 'must match a schema in anyOf';
