import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import { jobWorkflowId } from '../../workflows/contracts';
import {
  findGdprRequest,
  gdprAuditTrail,
  gdprReport,
  listGdprRequests,
} from '../../db/queries/gdpr';
import { findJob } from '../../db/queries/jobs';
import { checkReceivedAt, MAX_RECEIVED_AGE_DAYS } from '../../domain/gdpr';
import { DomainError, notFound } from '../../lib/errors';
import {
  createGdprRequest,
  declineGdprRequest,
  discardGdprRequest,
  claimErasureJob,
} from '../../operations/gdpr-requests';
import {
  abandonedJobsOf,
  auditEntryView,
  ensureGdprWorkflow,
  gdprRequestView,
  signalGdprWorkflow,
} from '../gdpr';
import { jobView, pollUntil, startJobWorkflow } from '../jobs';
import { can, currentUser } from '../plugins/auth';
import { IdParams, Nullable, Page, PageQuery, problems, Timestamp, Uuid } from '../schemas/common';
import { IdempotencyHeaders, Job } from '../schemas/jobs';
import {
  CreatedGdprRequest,
  GdprDeclineReason,
  GdprReport,
  GdprRequest,
  GdprRequestDetail,
  GdprStatus,
} from '../schemas/gdpr';

const tags = ['gdpr'];

const ErasureEnvelope = Type.Object({ request: GdprRequest, job: Nullable(Job) });
const MAX_REPORT_DAYS = 366;

const DateOrTime = (description: string) =>
  Type.Union([Type.String({ format: 'date' }), Type.String({ format: 'date-time' })], {
    description: `${description} A date (YYYY-MM-DD, midnight UTC) or a date-time.`,
  });

const gdprRequests: FastifyPluginAsyncTypebox = async (app) => {
  const allowed = can('gdpr.manage');

  const getRequest = async (id: string) => {
    const row = await findGdprRequest(app.db, id);
    if (!row) throw notFound('GDPR request', id);
    return row;
  };

  app.post(
    '/gdpr-requests',
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
        receivedAt,
        now,
        reference: request.body.reference ?? null,
        requestedBy: user.id,
        deadlineDays: app.config.gdpr.deadlineDays,
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
    '/gdpr-requests',
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
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(GdprRequest), ...problems(403) },
      },
    },
    async (request) => {
      const { limit = 25, cursor, status, customerId } = request.query;
      const page = await listGdprRequests(app.db, { limit, cursor, status, customerId });
      const now = new Date();
      return {
        items: page.items.map((row) => gdprRequestView(app, row, now)),
        nextCursor: page.nextCursor,
      };
    },
  );

  app.get(
    '/gdpr-requests/report',
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
        ...(await gdprReport(app.db, from, to)),
      };
    },
  );

  app.get(
    '/gdpr-requests/:id',
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
        auditTrail: (await gdprAuditTrail(app.db, row)).map(auditEntryView),
      };
    },
  );

  app.post(
    '/gdpr-requests/:id/decline',
    {
      config: { access: allowed },
      schema: {
        tags,
        summary: 'Close a request as declined: the right to erasure does not apply',
        description:
          'The note is free text kept with the request, and erased if the customer is erased later. ' +
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
      return gdprRequestView(app, row);
    },
  );
  app.post(
    '/gdpr-requests/:id/erase',
    {
      config: { access: can('gdpr.manage', 'customers.delete') },
      schema: {
        tags,
        summary: "Erase the request's customer everywhere: the deletion job, linked to the request",
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
      return reply.code(current.status === 'completed' ? 200 : 202).send({
        request: gdprRequestView(app, current),
        job: latest ? jobView(app, latest) : null,
      });
    },
  );
};

export default gdprRequests;
