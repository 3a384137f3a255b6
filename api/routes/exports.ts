import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Readable } from 'node:stream';
import { Type } from 'typebox';
import { notFound } from '../../lib/errors';
import { findGdprRequest } from '../../db/queries/gdpr';
import { exportChunks, findExport, openExportDownload } from '../../operations/exports';
import { isPending } from '../../domain/gdpr';
import { assertRequestType, closedError } from '../../operations/gdpr-requests';
import { exportView, startCustomerExport } from '../exports';
import { jobView } from '../job-control';
import { can, currentUser } from '../plugins/auth';
import { IdParams, problems } from '../schemas/common';
import { ExportArchive, ExportEnvelope, StartExportBody } from '../schemas/exports';
import { IdempotencyHeaders } from '../schemas/jobs';

const tags = ['exports'];

const exports: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/customers/:id/exports',
    {
      config: { access: can('gdpr.manage', 'customers.read') },
      schema: {
        tags,
        summary: 'Export everything held about a customer (access requests)',
        description:
          'Starts an export job (workflow `export-<jobId>`) that writes one ZIP archive of the ' +
          "customer's profile, attributes, contact points, conversations and messages, KObjects, events, " +
          'merged customer IDs, privacy requests and audit entries (docs/exports.md). 202 with the job and ' +
          'the archive; the archive is downloadable until `expiresAt` (EXPORT_TTL, 7 days by default), or ' +
          'until its request (`requestId`) is delivered or declined. 409 REQUEST_CLOSED for a closed request.',
        params: IdParams,
        body: Type.Optional(StartExportBody),
        headers: IdempotencyHeaders,
        response: { 202: ExportEnvelope, ...problems(403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const { job, archive } = await startCustomerExport(app, {
        customerId: request.params.id,
        requestId: request.body?.requestId,
        user: currentUser(request),
        idempotencyKey: request.headers['idempotency-key'],
      });
      return reply.code(202).send({ job: jobView(app, job), export: exportView(app, archive) });
    },
  );

  app.post(
    '/privacy-requests/:id/export',
    {
      config: { access: can('gdpr.manage', 'customers.read') },
      schema: {
        tags,
        summary: "Export everything held about an access request's customer",
        description:
          'The export of `POST /v1/customers/{id}/exports`, linked to the request: its archive lists the ' +
          'request in its manifest. 409 WRONG_REQUEST_TYPE for an erasure request, 409 REQUEST_CLOSED once ' +
          'the request is completed or declined. Complete the request with `deliver` once the person has it.',
        params: IdParams,
        headers: IdempotencyHeaders,
        response: { 202: ExportEnvelope, ...problems(403, 404, 409) },
      },
    },
    async (request, reply) => {
      const row = await findGdprRequest(app.db, request.params.id);
      if (!row) throw notFound('Privacy request', request.params.id);
      assertRequestType(row, 'access');
      if (!isPending(row)) throw closedError(row);
      const { job, archive } = await startCustomerExport(app, {
        customerId: row.customerId,
        requestId: row.id,
        user: currentUser(request),
        idempotencyKey: request.headers['idempotency-key'],
      });
      return reply.code(202).send({ job: jobView(app, job), export: exportView(app, archive) });
    },
  );

  app.get(
    '/exports/:id',
    {
      config: { access: can('gdpr.manage') },
      schema: {
        tags,
        summary: 'An export archive: status, counts and expiry',
        params: IdParams,
        response: { 200: ExportArchive, ...problems(403, 404) },
      },
    },
    async (request) => {
      const archive = await findExport(app.db, request.params.id);
      if (!archive) throw notFound('Export', request.params.id);
      return exportView(app, archive);
    },
  );

  app.get(
    '/exports/:id/download',
    {
      config: { access: can('gdpr.manage') },
      schema: {
        tags,
        summary: 'Download an export archive (ZIP)',
        description:
          'Streams the archive (application/zip). 409 EXPORT_NOT_READY while it is being built, ' +
          '410 EXPORT_EXPIRED after its expiry or once its request was delivered or declined. Every ' +
          'download is an audit entry (`export.downloaded`).',
        params: IdParams,
        response: {
          200: Type.Unsafe<string>({
            type: 'string',
            format: 'binary',
            description: 'The ZIP archive',
          }),
          ...problems(403, 404, 409, 410),
        },
      },
    },
    async (request, reply) => {
      const archive = await openExportDownload(app.db, request.params.id, currentUser(request).id);
      return (
        reply
          .header('content-type', 'application/zip')
          .header(
            'content-disposition',
            `attachment; filename="custodian-export-${archive.customerId}-${archive.id}.zip"`,
          )
          .header('content-length', archive.size)
          .header('cache-control', 'no-store')
          .header('x-content-sha256', archive.sha256 ?? '')
          // A stream is sent as it is; the 200 schema above only documents the body.
          .send(Readable.from(exportChunks(app.db, archive.id)) as unknown as string)
      );
    },
  );
};

export default exports;
