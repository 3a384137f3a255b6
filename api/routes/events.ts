import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { listEvents, recordEvents } from '../../db/queries/events';
import {
  EVENT_TYPE_PATTERN,
  eventIssues,
  MAX_EVENTS_PER_BATCH,
  MAX_EXTERNAL_ID_LENGTH,
  MAX_PROPERTIES_BYTES,
  MAX_PROPERTIES_DEPTH,
} from '../../domain/events';
import { DomainError } from '../../lib/errors';
import { IdParams, Nullable, Page, PageQuery, problems, Timestamp, Uuid } from '../schemas/common';
import { eventView } from '../views';
import { can } from '../plugins/auth';

const tags = ['events'];

const EventType = Type.String({
  pattern: EVENT_TYPE_PATTERN,
  description: 'lower_snake, e.g. `page_view`, `email_open`, `email_click`, `call`.',
});

const EventInput = Type.Object(
  {
    type: EventType,
    occurredAt: Type.String({
      format: 'date-time',
      description: 'ISO-8601 with a time zone, from 1970-01-01 to 5 minutes from now.',
    }),
    properties: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: `JSON object, at most ${MAX_PROPERTIES_BYTES} bytes and ${MAX_PROPERTIES_DEPTH} levels deep.`,
      }),
    ),
    externalId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_EXTERNAL_ID_LENGTH,
        description:
          "The sender's ID for the event: an event whose external ID this customer already has is skipped.",
      }),
    ),
  },
  { additionalProperties: false },
);

const Event = Type.Object({
  id: Uuid,
  customerId: Uuid,
  type: Type.String(),
  occurredAt: Timestamp,
  properties: Type.Record(Type.String(), Type.Unknown()),
  externalId: Nullable(Type.String()),
  createdAt: Timestamp,
});

const BatchResult = Type.Object({
  received: Type.Integer(),
  created: Type.Integer({ description: 'Events stored by this request.' }),
  duplicates: Type.Integer({ description: 'Events skipped: their external ID was already there.' }),
});

// A full batch of the largest events, with room for the JSON around them.
const BODY_LIMIT = MAX_EVENTS_PER_BATCH * MAX_PROPERTIES_BYTES + 4 * 1024 * 1024;

const events: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/customers/:id/events',
    {
      config: { access: can('events.write') },
      bodyLimit: BODY_LIMIT,
      schema: {
        tags,
        summary: 'Record a batch of engagement events, all or none',
        description:
          `Up to ${MAX_EVENTS_PER_BATCH} events in one transaction. A bad event refuses the whole batch ` +
          'with 400 VALIDATION_FAILED naming it (`/events/17/occurredAt`). Answers 201 when anything ' +
          'was stored, 200 when every event was a duplicate.',
        params: IdParams,
        body: Type.Object(
          {
            events: Type.Array(EventInput, { minItems: 1, maxItems: MAX_EVENTS_PER_BATCH }),
          },
          { additionalProperties: false },
        ),
        response: { 200: BatchResult, 201: BatchResult, ...problems(404) },
      },
    },
    async (request, reply) => {
      const batch = request.body.events;
      const issues = eventIssues(batch, new Date());
      if (issues.length > 0) {
        throw new DomainError('invalid', 'VALIDATION_FAILED', 'The request body is not valid.', {
          errors: issues,
        });
      }
      const result = await recordEvents(app.db, request.params.id, batch);
      return reply.code(result.created > 0 ? 201 : 200).send(result);
    },
  );

  app.get(
    '/customers/:id/events',
    {
      config: { access: can('events.read') },
      schema: {
        tags,
        summary: "A customer's engagement events, newest first",
        params: IdParams,
        querystring: Type.Object(
          {
            ...PageQuery,
            type: Type.Optional(EventType),
            from: Type.Optional({ ...Timestamp, description: 'Occurred at or after (inclusive).' }),
            to: Type.Optional({ ...Timestamp, description: 'Occurred before (exclusive).' }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(Event), ...problems(404) },
      },
    },
    async (request) => {
      const { limit = 25, ...rest } = request.query;
      const page = await listEvents(app.db, request.params.id, { limit, ...rest });
      return { items: page.items.map(eventView), nextCursor: page.nextCursor };
    },
  );
};

export default events;
