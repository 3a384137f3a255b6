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
import type { CompanyByName } from '../../db/queries/companies';
import { DomainError, notFound } from '../../lib/errors';
import { IdParams, Page, PageQuery, problems, Uuid } from '../schemas/common';
import { CreateCustomerBody, Customer, UpdateCustomerBody } from '../schemas/customers';
import { customerView } from '../views';
import { can } from '../plugins/auth';

const tags = ['customers'];

/** A customer's company given by name, when it is; refuses what cannot mean one company. */
function companyByName(body: {
  companyId?: string | null | undefined;
  companyName?: string | undefined;
  createCompany?: boolean | undefined;
}): CompanyByName | undefined {
  if (body.companyName !== undefined && body.companyId !== undefined) {
    throw new DomainError(
      'invalid',
      'COMPANY_ID_AND_NAME',
      'Give the company by companyId or by companyName, not both.',
    );
  }
  if (body.createCompany !== undefined && body.companyName === undefined) {
    throw new DomainError(
      'invalid',
      'CREATE_COMPANY_WITHOUT_NAME',
      'createCompany goes with companyName: it says what to do when no company has that name.',
    );
  }
  return body.companyName === undefined
    ? undefined
    : { name: body.companyName, create: body.createCompany ?? false };
}

const customers: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/customers',
    {
      config: { access: can('customers.write') },
      schema: {
        tags,
        summary: 'Create a customer',
        body: CreateCustomerBody,
        response: { 201: Customer, ...problems(409, 422) },
      },
    },
    async (request, reply) => {
      const { emails, phones, companyName: _name, createCompany: _create, ...rest } = request.body;
      const row = await createCustomer(
        app.db,
        {
          ...rest,
          emails: normalizeEmails(emails ?? []),
          phones: normalizePhones(phones ?? [], app.config.phoneDefaultRegion),
        },
        companyByName(request.body),
      );
      return reply.code(201).header('location', `/v1/customers/${row.id}`).send(customerView(row));
    },
  );

  app.get(
    '/customers',
    {
      config: { access: can('customers.read') },
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
      config: { access: can('customers.read') },
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
      config: { access: can('customers.write') },
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
      const { emails, phones, companyName: _name, createCompany: _create, ...rest } = request.body;
      const row = await updateCustomer(
        app.db,
        request.params.id,
        {
          ...rest,
          ...(emails ? { emails: normalizeEmails(emails) } : {}),
          ...(phones ? { phones: normalizePhones(phones, app.config.phoneDefaultRegion) } : {}),
        },
        companyByName(request.body),
      );
      return customerView(row);
    },
  );
};

export default customers;
