import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  createCustomer,
  findCustomer,
  listCustomers,
  resolveMergedCustomer,
  updateCustomer,
} from '../../db/queries/customers';
import { normalizeEmails, normalizePhones } from '../../domain/contacts';
import { notFound } from '../../lib/errors';
import { IdParams, Page, PageQuery, problems, Uuid } from '../schemas/common';
import { CreateCustomerBody, Customer, UpdateCustomerBody } from '../schemas/customers';
import { customerView } from '../views';

const tags = ['customers'];

const customers: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/customers',
    {
      schema: {
        tags,
        summary: 'Create a customer',
        body: CreateCustomerBody,
        response: { 201: Customer, ...problems(409, 422) },
      },
    },
    async (request, reply) => {
      const { emails, phones, ...rest } = request.body;
      const row = await createCustomer(app.db, {
        ...rest,
        emails: normalizeEmails(emails ?? []),
        phones: normalizePhones(phones ?? [], app.config.phoneDefaultRegion),
      });
      return reply.code(201).header('location', `/v1/customers/${row.id}`).send(customerView(row));
    },
  );

  app.get(
    '/customers',
    {
      schema: {
        tags,
        summary: 'List customers, newest first',
        querystring: Type.Object(
          { ...PageQuery, companyId: Type.Optional(Uuid) },
          { additionalProperties: false },
        ),
        response: { 200: Page(Customer), ...problems() },
      },
    },
    async (request) => {
      const { limit = 25, cursor, companyId } = request.query;
      const page = await listCustomers(app.db, { limit, cursor, companyId });
      return { items: page.items.map(customerView), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/customers/:id',
    {
      schema: {
        tags,
        summary: 'Get a customer',
        description:
          'A customer that was merged away answers 308 with the surviving customer in `Location`.',
        params: IdParams,
        response: {
          200: Customer,
          308: Type.Object({ mergedInto: Uuid, location: Type.String() }),
          ...problems(404),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const row = await findCustomer(app.db, id);
      if (row) return customerView(row);
      const survivor = await resolveMergedCustomer(app.db, id);
      if (!survivor) throw notFound('Customer', id);
      const location = `/v1/customers/${survivor}`;
      return reply.code(308).header('location', location).send({ mergedInto: survivor, location });
    },
  );

  app.patch(
    '/customers/:id',
    {
      schema: {
        tags,
        summary: 'Update a customer',
        description: 'Mark one email or phone `preferred` to change which is preferred.',
        params: IdParams,
        body: UpdateCustomerBody,
        response: { 200: Customer, ...problems(404, 409, 422) },
      },
    },
    async (request) => {
      const { emails, phones, ...rest } = request.body;
      const row = await updateCustomer(app.db, request.params.id, {
        ...rest,
        ...(emails ? { emails: normalizeEmails(emails) } : {}),
        ...(phones ? { phones: normalizePhones(phones, app.config.phoneDefaultRegion) } : {}),
      });
      return customerView(row);
    },
  );
};

export default customers;
