import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

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
  return ajv;
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
    app.setValidatorCompiler(({ schema, httpPart }) =>
      (httpPart === 'body' ? strict : coercing).compile(schema),
    );
  },
  { name: 'validation' },
);
