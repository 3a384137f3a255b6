import { Ajv, type Options, type SchemaValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { jsonLimitProblem, jsonTextDepth, type JsonLimits } from '../../domain/json';
import { userTimeProblem } from '../../domain/time';
import { DomainError } from '../../lib/errors';
import { keywords } from '../schemas/keywords';

/**
 * The deepest JSON body the API parses at all. Free JSON fields have tighter
 * limits of their own (`domain/json.ts`); this one stops a hostile body before
 * anything recursive (the parser's prototype scan, serialisers) touches it.
 */
export const MAX_BODY_DEPTH = 32;

function refuse(
  validate: SchemaValidateFunction,
  keyword: string,
  message: string,
  params: Record<string, unknown> = {},
) {
  validate.errors = [{ keyword, message, params }];
  return false;
}

function buildAjv(options: Options): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    // Unknown fields are refused, not silently dropped.
    removeAdditional: false,
    strict: false,
    ...options,
  });
  addFormats(ajv);
  ajv.addKeyword({
    keyword: keywords.lowercase,
    type: 'string',
    modifying: true,
    errors: false,
    validate: ((_enabled: boolean, data: string, _schema, cxt) => {
      if (cxt?.parentData && data !== data.toLowerCase()) {
        (cxt.parentData as Record<string | number, unknown>)[cxt.parentDataProperty] =
          data.toLowerCase();
      }
      return true;
    }) satisfies SchemaValidateFunction,
  });
  const userTime: SchemaValidateFunction = (_enabled: boolean, data: string): boolean => {
    const problem = userTimeProblem(data);
    return problem ? refuse(userTime, keywords.userTime, problem) : true;
  };
  ajv.addKeyword({ keyword: keywords.userTime, type: 'string', errors: true, validate: userTime });
  const limited: SchemaValidateFunction = (limits: JsonLimits, data: unknown): boolean => {
    const problem = jsonLimitProblem(data, limits);
    return problem ? refuse(limited, keywords.jsonLimits, problem, { ...limits }) : true;
  };
  ajv.addKeyword({ keyword: keywords.jsonLimits, errors: true, validate: limited });
  return ajv;
}

/** The first string (or object key) holding a NUL character, as a JSON pointer. */
function nulPath(value: unknown, base: string): string | undefined {
  const stack: [unknown, string][] = [[value, base]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (typeof node === 'string') {
      if (node.includes('\u0000')) return path;
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        const childPath = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
        if (key.includes('\u0000')) return childPath;
        stack.push([child, childPath]);
      }
    }
  }
  return undefined;
}

/** Postgres cannot store NUL in text or jsonb; refuse it up front, naming the field. */
async function refuseNulCharacters(request: FastifyRequest) {
  for (const [part, value] of [
    ['body', request.body],
    ['querystring', request.query],
    ['params', request.params],
  ] as const) {
    const path = nulPath(value, '');
    if (path === undefined) continue;
    const field = path.slice(1).replaceAll('/', '.') || part;
    throw new DomainError(
      'invalid',
      'VALIDATION_FAILED',
      `The request ${part} is not valid: ${field} must not contain NUL characters.`,
      { errors: [{ path: path || '/', field, message: 'must not contain NUL characters' }] },
    );
  }
}

/**
 * Bodies are validated as sent: a number where a string belongs is refused.
 * Query strings and path params arrive as text, so only they are coerced.
 */
export default fp(
  async function validation(app: FastifyInstance) {
    const strict = buildAjv({ coerceTypes: false });
    const coercing = buildAjv({ coerceTypes: 'array' });
    // JSON in, JSON out: a text body is refused with 415 rather than parsed.
    app.removeContentTypeParser('text/plain');

    // An empty body with a JSON content type is no body: clients that always
    // send the header can call body-less routes; routes with a body still
    // refuse it through their schema.
    const parseJson = app.getDefaultJsonParser('error', 'ignore');
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser(
      'application/json',
      { parseAs: 'string' },
      (request, body: string, done) => {
        if (body.trim() === '') return done(null, undefined);
        if (jsonTextDepth(body, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) {
          return done(
            new DomainError(
              'invalid',
              'JSON_TOO_DEEP',
              `The JSON body is nested more than ${MAX_BODY_DEPTH} levels deep.`,
              { maxDepth: MAX_BODY_DEPTH },
            ),
          );
        }
        void parseJson(request, body, done);
      },
    );

    app.setValidatorCompiler(({ schema, httpPart }) =>
      (httpPart === 'body' ? strict : coercing).compile(schema),
    );
    app.addHook('preValidation', refuseNulCharacters);
  },
  { name: 'validation' },
);
