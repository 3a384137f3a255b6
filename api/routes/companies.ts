import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  createCompany,
  getCompany,
  listCompanies,
  MAX_NAME_MATCHES,
  searchCompaniesByName,
  updateCompany,
} from '../../db/queries/companies';
import { listCompanyDirectory } from '../../db/queries/customers';
import { companyTimeline } from '../../db/queries/timeline';
import { DomainError } from '../../lib/errors';
import {
  Attributes,
  IdParams,
  Name,
  Page,
  PageQuery,
  problems,
  Timestamp,
  Uuid,
} from '../schemas/common';
import { TimelineItem } from '../schemas/timeline';
import { companyView, iso, timelineItemView } from '../views';
import { can } from '../plugins/auth';

const tags = ['companies'];

const Company = Type.Object({
  id: Uuid,
  name: Type.String(),
  customAttributes: Attributes,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const CompanyName = Name(200);

const CustomerCard = Type.Object({
  customer: Type.Object({ id: Uuid, name: Type.String(), lastActivityAt: Timestamp }),
  conversationCounts: Type.Object({
    open: Type.Integer(),
    snoozed: Type.Integer(),
    done: Type.Integer(),
  }),
  recentItems: Type.Array(TimelineItem, { description: 'The 5 most recent items.' }),
});

const DirectoryEntry = Type.Object({
  id: Uuid,
  name: Type.String(),
  lastActivityAt: Timestamp,
  openConversations: Type.Integer(),
});

const companies: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/companies',
    {
      config: { access: can('customers.write') },
      schema: {
        tags,
        summary: 'Create a company',
        body: Type.Object(
          { name: CompanyName, customAttributes: Type.Optional(Attributes) },
          { additionalProperties: false },
        ),
        response: { 201: Company, ...problems(409) },
      },
    },
    async (request, reply) => {
      const row = await createCompany(app.db, request.body);
      return reply.code(201).header('location', `/v1/companies/${row.id}`).send(companyView(row));
    },
  );

  app.get(
    '/companies',
    {
      config: { access: can('customers.read') },
      schema: {
        tags,
        summary: 'List companies by name, or find them by name',
        description:
          'Without `q`: every company, ordered by name (case-insensitive), then ID. ' +
          `With \`q\`: companies whose name is like it, typo-tolerant, best match first ` +
          `(the exact name, then the most similar, then names starting with \`q\`); ` +
          `the ${MAX_NAME_MATCHES} best matches at most, paged by offset.`,
        querystring: Type.Object(
          {
            ...PageQuery,
            q: Type.Optional(
              Name(200, { description: 'A company name, or part of one, as a person types it.' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(Company), ...problems() },
      },
    },
    async (request) => {
      const { q, limit = 25, cursor } = request.query;
      const page =
        q === undefined
          ? await listCompanies(app.db, { limit, cursor })
          : await searchCompaniesByName(app.db, q, { limit, cursor });
      return { items: page.items.map(companyView), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/companies/:id',
    {
      config: { access: can('customers.read') },
      schema: {
        tags,
        summary: 'Get a company',
        params: IdParams,
        response: { 200: Company, ...problems(404) },
      },
    },
    async (request) => companyView(await getCompany(app.db, request.params.id)),
  );

  app.patch(
    '/companies/:id',
    {
      config: { access: can('customers.write') },
      schema: {
        tags,
        summary: 'Update a company',
        params: IdParams,
        body: Type.Object(
          { name: Type.Optional(CompanyName), customAttributes: Type.Optional(Attributes) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Company, ...problems(404, 409) },
      },
    },
    async (request) => companyView(await updateCompany(app.db, request.params.id, request.body)),
  );

  app.delete(
    '/companies/:id',
    {
      config: { access: can('customers.delete') },
      schema: {
        tags,
        summary: 'Companies cannot be deleted',
        description:
          'Always refused with 405 COMPANY_NOT_DELETABLE: customers and reports refer to companies.',
        params: IdParams,
        response: problems(404, 405),
      },
    },
    async (request) => {
      await getCompany(app.db, request.params.id);
      throw new DomainError(
        'not_allowed',
        'COMPANY_NOT_DELETABLE',
        'Companies cannot be deleted. Move or delete its customers instead; the company stays for reporting.',
        {},
        { headers: { allow: 'GET, PATCH' } },
      );
    },
  );

  app.get(
    '/companies/:id/timeline',
    {
      config: { access: can('customers.read', 'conversations.read', 'kobjects.read') },
      schema: {
        tags,
        summary: "The company's customers as cards, most recently active first",
        params: IdParams,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: Page(CustomerCard), ...problems(404) },
      },
    },
    async (request) => {
      await getCompany(app.db, request.params.id);
      const page = await companyTimeline(app.db, request.params.id, {
        limit: request.query.limit ?? 25,
        cursor: request.query.cursor,
      });
      return {
        items: page.items.map((card) => ({
          customer: {
            ...card.customer,
            lastActivityAt: iso(card.customer.lastActivityAt),
          },
          conversationCounts: card.conversationCounts,
          recentItems: card.recentItems.map(timelineItemView),
        })),
        nextCursor: page.nextCursor,
      };
    },
  );

  app.get(
    '/companies/:id/customers',
    {
      config: { access: can('customers.read') },
      schema: {
        tags,
        summary: "The company's customer directory, by name",
        params: IdParams,
        querystring: Type.Object(
          {
            ...PageQuery,
            filter: Type.Optional(
              Type.Union([Type.Literal('all'), Type.Literal('open')], {
                default: 'all',
                description: '`open`: only customers with an open conversation.',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(DirectoryEntry), ...problems(404) },
      },
    },
    async (request) => {
      const page = await listCompanyDirectory(app.db, {
        companyId: request.params.id,
        onlyWithOpenConversations: request.query.filter === 'open',
        limit: request.query.limit ?? 25,
        cursor: request.query.cursor,
      });
      // Customers belong only to an existing company: it is looked up only for an
      // empty page, so a page costs one round trip.
      if (page.items.length === 0) await getCompany(app.db, request.params.id);
      return {
        items: page.items.map((entry) => ({
          ...entry,
          lastActivityAt: iso(entry.lastActivityAt),
        })),
        nextCursor: page.nextCursor,
      };
    },
  );
};

export default companies;
