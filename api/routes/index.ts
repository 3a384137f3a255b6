import type { FastifyInstance } from 'fastify';
import auth from '../plugins/auth';
import attributeDefinitions from './attribute-definitions';
import audit from './audit';
import companies from './companies';
import conversations from './conversations';
import customers from './customers';
import deletions from './deletions';
import diagnostics from './diagnostics';
import events from './events';
import exportRoutes from './exports';
import gdprRequests from './gdpr-requests';
import jobs from './jobs';
import kobjects from './kobjects';
import merges from './merges';
import notifications from './notifications';
import permissionSets from './permission-sets';
import reports from './reports';
import search from './search';
import timeline from './timeline';
import transfers from './transfers';
import users from './users';
import webhooks from './webhooks';

/** Everything under /v1 needs an API key. */
export default async function v1(app: FastifyInstance) {
  await app.register(auth);
  for (const routes of [
    users,
    permissionSets,
    notifications,
    customers,
    companies,
    attributeDefinitions,
    conversations,
    kobjects,
    events,
    timeline,
    reports,
    search,
    jobs,
    merges,
    transfers,
    gdprRequests,
    deletions,
    exportRoutes,
    audit,
    diagnostics,
    webhooks,
  ]) {
    await app.register(routes);
  }
}
