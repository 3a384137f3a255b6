import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import { jobWorkflowId } from '../../workflows/contracts';
import {
  findGdprRequest,
  gdprAuditTrail,
  gdprReport,
  listGdprRequests,
} from '../../db/queries/gdpr';
import { erasureReceiptsOf } from '../../db/queries/erasure-receipts';
import { findJob } from '../../db/queries/job-rows';
import { privacyRegulations, privacyRequestTypes } from '../../db/schema';
import { checkReceivedAt, MAX_RECEIVED_AGE_DAYS } from '../../domain/gdpr';
import { DomainError, notFound } from '../../lib/errors';
import {
  createGdprRequest,
  declineGdprRequest,
  discardGdprRequest,
  claimErasureJob,
} from '../../operations/gdpr-requests';
import {
  clockHistoryOf,
  deliverRequest,
  extendRequest,
  pauseRequest,
  resumeRequest,
  type ClockStep,
} from '../../operations/privacy-clock';
import {
  abandonedJobsOf,
  auditEntryView,
  clockEntryView,
  ensureGdprWorkflow,
  gdprRequestView,
  signalGdprWorkflow,
} from '../gdpr';
import { tellExportsRequestClosed } from '../exports';
import { jobView, pollUntil, replyTells, startJobWorkflow } from '../job-control';
import { can, currentUser } from '../plugins/auth';
import {
  IdParams,
  Nullable,
  OneOf,
  Page,
  PageQuery,
  problems,
  Timestamp,
  Uuid,
} from '../schemas/common';
import { IdempotencyHeaders, Job } from '../schemas/jobs';
import {
  CreatedGdprRequest,
  GdprDeclineReason,
  GdprReport,
  GdprRequest,
  GdprRequestDetail,
  GdprStatus,
  PrivacyDeliveryMethod,
  PrivacyPauseReason,
  PrivacyRegulation,
  PrivacyRequestType,
} from '../schemas/gdpr';

const ErasureEnvelope = Type.Object({ request: GdprRequest, job: Nullable(Job) });
const MAX_REPORT_DAYS = 366;

const DateOrTime = (description: string) =>
  Type.Union([Type.String({ format: 'date' }), Type.String({ format: 'date-time' })], {
    description: `${description} A date (YYYY-MM-DD, midnight UTC) or a date-time.`,
  });

/**
 * The routes of privacy requests under one base path. They answer under
 * `/v1/privacy-requests` (every type and regulation) and, as they always did,
 * under `/v1/gdpr-requests`, whose listing and report stay to erasure
 * requests unless asked for another type.
 */
const privacyRequestRoutes =
  (base: '/gdpr-requests' | '/privacy-requests'): FastifyPluginAsyncTypebox =>
  async (app) => {
    const allowed = can('gdpr.manage');
    const legacy = base === '/gdpr-requests';
    const tags = legacy ? ['gdpr'] : ['privacy'];

    const getRequest = async (id: string) => {
      const row = await findGdprRequest(app.db, id);
      if (!row) throw notFound('GDPR request', id);
      return row;
    };

    app.post(
      base,
      {
        config: { access: allowed },
        schema: {
          tags,
          summary: 'Record an erasure request; its deadline is tracked by a workflow',
          description:
            `\`dueAt\` is \`receivedAt\` + GDPR_DEADLINE_DAYS (30). \`receivedAt\` defaults to now, must not be in ` +
            `the future, and at most ${MAX_RECEIVED_AGE_DAYS} days back. A merged-away customer ID is resolved to the ` +
            'survivor (`resolvedFrom` names the ID given). 409 REQUEST_ALREADY_OPEN when the customer already has ' +
            'an open or overdue request. An `Idempotency-Key` header makes a retry give back the request the ' +
            'first call recorded (422 IDEMPOTENCY_KEY_REUSED with other parameters).',
          headers: IdempotencyHeaders,
          body: Type.Object(
            {
              customerId: Uuid,
              type: Type.Optional(
                OneOf(privacyRequestTypes, { description: 'Default `erasure`.' }),
              ),
              regulation: Type.Optional(
                OneOf(privacyRegulations, {
                  description:
                    'Default `gdpr`; sets the statutory period and the maximum extension.',
                }),
              ),
              receivedAt: Type.Optional(Timestamp),
              reference: Type.Optional(
                Type.String({
                  minLength: 1,
                  maxLength: 200,
                  description: 'An opaque ticket reference of your own; not personal data.',
                }),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 201: CreatedGdprRequest, ...problems(403, 404, 409, 422) },
        },
      },
      async (request, reply) => {
        const user = currentUser(request);
        const now = new Date();
        const receivedAt = request.body.receivedAt ? new Date(request.body.receivedAt) : undefined;
        if (receivedAt) checkReceivedAt(receivedAt, now);
        const {
          request: row,
          resolvedFrom,
          created,
        } = await createGdprRequest(app.db, {
          customerId: request.body.customerId,
          type: request.body.type ?? 'erasure',
          regulation: request.body.regulation ?? 'gdpr',
          receivedAt,
          now,
          reference: request.body.reference ?? null,
          requestedBy: user.id,
          deadlineDays:
            app.config.privacy.regulations[request.body.regulation ?? 'gdpr'].periodDays,
          idempotencyKey: request.headers['idempotency-key'],
        });
        // A retry with the same key may start the workflow first (the first call may
        // also have died between recording the request and starting it): either is fine.
        if (created || row.status === 'open' || row.status === 'overdue') {
          try {
            await ensureGdprWorkflow(app, row, user.id);
          } catch (error) {
            if (created) await discardGdprRequest(app.db, row.id, user.id);
            throw error;
          }
        }
        return reply.code(201).send({ ...gdprRequestView(app, row, now), resolvedFrom });
      },
    );

    app.get(
      base,
      {
        config: { access: allowed },
        schema: {
          tags,
          summary: 'List erasure requests by deadline, soonest first',
          querystring: Type.Object(
            {
              ...PageQuery,
              status: Type.Optional(GdprStatus),
              customerId: Type.Optional(Uuid),
              type: Type.Optional(PrivacyRequestType),
              regulation: Type.Optional(PrivacyRegulation),
            },
            { additionalProperties: false },
          ),
          response: { 200: Page(GdprRequest), ...problems(403) },
        },
      },
      async (request) => {
        const { limit = 25, cursor, status, customerId, regulation } = request.query;
        // The old path lists what it always listed: erasure requests.
        const type = request.query.type ?? (legacy ? 'erasure' : undefined);
        const page = await listGdprRequests(app.db, {
          limit,
          cursor,
          status,
          customerId,
          type,
          regulation,
        });
        const now = new Date();
        return {
          items: page.items.map((row) => gdprRequestView(app, row, now)),
          nextCursor: page.nextCursor,
        };
      },
    );

    app.get(
      `${base}/report`,
      {
        config: { access: allowed },
        schema: {
          tags,
          summary:
            'Requests received in [from, to): how many were completed on time, late, declined, still open',
          querystring: Type.Object(
            {
              from: DateOrTime('Inclusive.'),
              to: DateOrTime('Exclusive.'),
              type: Type.Optional(PrivacyRequestType),
              regulation: Type.Optional(PrivacyRegulation),
            },
            { additionalProperties: false },
          ),
          response: { 200: GdprReport, ...problems(403) },
        },
      },
      async (request) => {
        const from = new Date(request.query.from);
        const to = new Date(request.query.to);
        const days = (to.getTime() - from.getTime()) / 86_400_000;
        if (days <= 0)
          throw new DomainError('invalid', 'INVALID_DATE_RANGE', '`from` must be before `to`.');
        if (days > MAX_REPORT_DAYS) {
          throw new DomainError(
            'invalid',
            'INVALID_DATE_RANGE',
            `A report covers at most ${MAX_REPORT_DAYS} days.`,
          );
        }
        return {
          from: from.toISOString(),
          to: to.toISOString(),
          ...(await gdprReport(app.db, from, to, {
            type: request.query.type ?? (legacy ? 'erasure' : undefined),
            regulation: request.query.regulation,
          })),
        };
      },
    );

    app.get(
      `${base}/:id`,
      {
        config: { access: allowed },
        schema: {
          tags,
          summary: 'An erasure request with its erasure job, completion record and audit trail',
          params: IdParams,
          response: { 200: GdprRequestDetail, ...problems(403, 404) },
        },
      },
      async (request) => {
        const row = await getRequest(request.params.id);
        const job = row.erasureJobId ? await findJob(app.db, row.erasureJobId) : undefined;
        return {
          ...gdprRequestView(app, row),
          job: job ? jobView(app, job) : null,
          clock: (await clockHistoryOf(app.db, row.id)).map(clockEntryView),
          auditTrail: (await gdprAuditTrail(app.db, row)).map(auditEntryView),
          downstream:
            row.type === 'erasure' ? await erasureReceiptsOf(app.db, row.customerId) : null,
        };
      },
    );

    app.post(
      `${base}/:id/decline`,
      {
        config: { access: allowed },
        schema: {
          tags,
          summary: 'Close a request as declined: the right to erasure does not apply',
          description:
            'The note is free text kept with the request, and erased if the customer is erased later. ' +
            "The request's export archives are deleted (410 EXPORT_EXPIRED). " +
            '409 REQUEST_CLOSED when the request is already completed or declined; 409 ERASURE_RUNNING while ' +
            'its erasure job runs (not when its workflow has ended without settling it, e.g. terminated in Temporal UI).',
          params: IdParams,
          body: Type.Object(
            {
              reason: GdprDeclineReason,
              note: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: GdprRequest, ...problems(403, 404, 409) },
        },
      },
      async (request) => {
        const user = currentUser(request);
        const abandoned = await abandonedJobsOf(app, request.params.id);
        const row = await declineGdprRequest(
          app.db,
          request.params.id,
          { reason: request.body.reason, note: request.body.note ?? null, userId: user.id },
          { isAbandoned: abandoned.isAbandoned },
        );
        await abandoned.settleFound();
        await signalGdprWorkflow(app, row, user.id, { name: 'gdprRequestDeclined' });
        await tellExportsRequestClosed(app, row.id);
        return gdprRequestView(app, row);
      },
    );
    app.post(
      `${base}/:id/erase`,
      {
        config: { access: can('gdpr.manage', 'customers.delete') },
        schema: {
          tags,
          summary:
            "Erase the request's customer everywhere: the deletion job, linked to the request",
          description:
            'Starts the deletion job of the customer (workflow `delete-<jobId>`), or links the one already running ' +
            '(never one whose workflow has ended: a job terminated in Temporal UI is settled and a new one started). ' +
            "When it completes, the request's workflow completes the request with a record of each place the data " +
            'was erased from. 200 when that happened within a few seconds, else 202; a failed erasure leaves the ' +
            'request open and alerts the compliance users. 409 REQUEST_CLOSED for a completed or declined request.',
          params: IdParams,
          response: {
            200: ErasureEnvelope,
            202: ErasureEnvelope,
            ...problems(403, 404, 409),
          },
        },
      },
      async (request, reply) => {
        const user = currentUser(request);
        const { id } = request.params;
        const newJobId = randomUUID();
        const abandoned = await abandonedJobsOf(app, request.params.id);
        const {
          request: linked,
          job,
          created,
        } = await claimErasureJob(
          app.db,
          id,
          user.id,
          { id: newJobId, workflowId: jobWorkflowId('delete', newJobId) },
          { isAbandoned: abandoned.isAbandoned },
        );
        await abandoned.settleFound();
        if (created) {
          await startJobWorkflow(app, job, {
            type: 'delete',
            user,
            params: job.params,
            customerIds: [linked.customerId],
            summary: `Erase customer ${linked.customerId} for GDPR request ${id}`,
          });
        }
        await signalGdprWorkflow(app, linked, user.id, { name: 'erasureStarted', jobId: job.id });
        const current = await pollUntil(
          app,
          () => getRequest(id),
          (request) => request.status === 'completed',
        );
        const latest = await findJob(app.db, job.id);
        // The erasure job's outcome is this reply's to tell, unless its notice told it first.
        const told =
          current.status === 'completed' && latest !== undefined && (await replyTells(app, latest));
        return reply.code(told ? 200 : 202).send({
          request: gdprRequestView(app, current),
          job: latest ? jobView(app, latest) : null,
        });
      },
    );
    /** Tells the request's workflow where its clock stands now. */
    const clockMoved = async ({ request: row, entry }: ClockStep, userId: string) => {
      await signalGdprWorkflow(app, row, userId, { name: 'privacyClockChanged', seq: entry.id });
      return gdprRequestView(app, row);
    };

    app.post(
      `${base}/:id/deliver`,
      {
        config: { access: allowed },
        schema: {
          tags,
          summary:
            "Complete an access request: record how and when the person's copy was delivered",
          description:
            'The sending itself happens outside Custodian. 409 EXPORT_REQUIRED unless the request has an export ' +
            'ready to download (`POST …/{id}/export`); 409 WRONG_REQUEST_TYPE for an erasure request ' +
            "(those complete through `erase`); 409 REQUEST_CLOSED once completed or declined. The request's " +
            'archives are deleted as it completes (their download answers 410 EXPORT_EXPIRED). The note is free ' +
            'text kept with the request and erased with the customer.',
          params: IdParams,
          body: Type.Object(
            {
              method: PrivacyDeliveryMethod,
              note: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: GdprRequest, ...problems(403, 404, 409) },
        },
      },
      async (request) => {
        const user = currentUser(request);
        const row = await deliverRequest(app.db, request.params.id, {
          method: request.body.method,
          note: request.body.note ?? null,
          userId: user.id,
          now: new Date(),
        });
        await signalGdprWorkflow(app, row, user.id, { name: 'privacyRequestDelivered' });
        await tellExportsRequestClosed(app, row.id);
        return gdprRequestView(app, row);
      },
    );

    app.post(
      `${base}/:id/extend`,
      {
        config: { access: allowed },
        schema: {
          tags,
          summary: "Extend a request's deadline, within its regulation's maximum",
          description:
            '`dueAt` must be later than the current deadline (422 EXTENSION_NOT_LATER) and no later than ' +
            '`latestDueAt` = the statutory deadline + the maximum extension (GDPR and UK GDPR 60 days, CCPA 45) ' +
            '+ the days the clock was paused (422 EXTENSION_BEYOND_LIMIT, naming `latestDueAt`). 409 ' +
            'REQUEST_OVERDUE once the deadline has passed, REQUEST_CLOSED once closed. Reminders and the ' +
            "overdue mark follow the new date. The reason is shown in the request's `clock`.",
          params: IdParams,
          body: Type.Object(
            {
              reason: Type.String({ minLength: 1, maxLength: 2000 }),
              dueAt: Type.String({ format: 'date-time', description: 'The new deadline.' }),
            },
            { additionalProperties: false },
          ),
          response: { 200: GdprRequest, ...problems(403, 404, 409, 422) },
        },
      },
      async (request) => {
        const user = currentUser(request);
        const moved = await extendRequest(
          app.db,
          request.params.id,
          {
            reason: request.body.reason,
            dueAt: new Date(request.body.dueAt),
            userId: user.id,
            now: new Date(),
          },
          (row) => app.config.privacy.regulations[row.regulation],
        );
        return clockMoved(moved, user.id);
      },
    );

    app.post(
      `${base}/:id/pause`,
      {
        config: { access: allowed },
        schema: {
          tags,
          summary: "Stop a request's clock while waiting for the requester",
          description:
            'No reminder or overdue mark fires while stopped. 409 CLOCK_ALREADY_PAUSED when it is stopped, ' +
            'REQUEST_OVERDUE once the deadline has passed, REQUEST_CLOSED once closed.',
          params: IdParams,
          body: Type.Object(
            {
              reason: PrivacyPauseReason,
              note: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: GdprRequest, ...problems(403, 404, 409) },
        },
      },
      async (request) => {
        const user = currentUser(request);
        const moved = await pauseRequest(app.db, request.params.id, {
          reason: request.body.reason,
          note: request.body.note ?? null,
          userId: user.id,
          now: new Date(),
        });
        return clockMoved(moved, user.id);
      },
    );

    app.post(
      `${base}/:id/resume`,
      {
        config: { access: allowed },
        schema: {
          tags,
          summary: 'Restart a stopped clock; the deadline moves by the days it stood still',
          description:
            'The days paused are counted whole, rounded up (2 hours paused add 1 day), and also raise ' +
            '`latestDueAt`. 409 CLOCK_NOT_PAUSED when the clock runs, REQUEST_CLOSED once closed.',
          params: IdParams,
          body: Type.Optional(
            Type.Object(
              { note: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })) },
              { additionalProperties: false },
            ),
          ),
          response: { 200: GdprRequest, ...problems(403, 404, 409) },
        },
      },
      async (request) => {
        const user = currentUser(request);
        const moved = await resumeRequest(app.db, request.params.id, {
          note: request.body?.note ?? null,
          userId: user.id,
          now: new Date(),
        });
        return clockMoved(moved, user.id);
      },
    );
  };

export default async function privacyRequests(app: FastifyInstance) {
  await app.register(privacyRequestRoutes('/privacy-requests'));
  await app.register(privacyRequestRoutes('/gdpr-requests'));
}
