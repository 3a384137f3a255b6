import { Type, type Static } from 'typebox';
import { Attributes, Name, Nullable, Timestamp, Uuid } from './common';

const EmailInput = Type.Object(
  {
    address: Type.String({ format: 'email', maxLength: 320 }),
    preferred: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const PhoneInput = Type.Object(
  {
    number: Type.String({
      minLength: 1,
      maxLength: 40,
      description:
        'As the person writes it: with a country code ("+44 20 7946 0958", "0044 20 7946 0958") or ' +
        'without one, read in the default region (PHONE_DEFAULT_REGION). Kept as typed; its E.164 form ' +
        'is stored beside it. A text that is not a valid phone number is refused (400 INVALID_PHONE_NUMBER).',
    }),
    preferred: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const SocialHandle = Type.Object(
  {
    network: Type.String({ minLength: 1, maxLength: 50 }),
    handle: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);

const customerFields = {
  name: Name(200),
  companyId: Nullable(Uuid),
  emails: Type.Array(EmailInput, {
    maxItems: 50,
    description: 'The first is preferred unless one says so.',
  }),
  phones: Type.Array(PhoneInput, { maxItems: 50 }),
  socialHandles: Type.Array(SocialHandle, { maxItems: 50 }),
  websites: Type.Array(Type.String({ format: 'uri', maxLength: 2000 }), { maxItems: 50 }),
  externalId: Nullable(Type.String({ minLength: 1, maxLength: 200 })),
  customAttributes: Attributes,
};

const optionalFields = {
  companyId: Type.Optional(customerFields.companyId),
  companyName: Type.Optional(
    Name(200, {
      description:
        'Instead of `companyId`: the company with this name, case and surrounding spaces aside. ' +
        'None so named → 422 `COMPANY_NOT_FOUND` listing up to 5 near names as `candidates`, ' +
        'unless `createCompany` is true.',
    }),
  ),
  createCompany: Type.Optional(
    Type.Boolean({
      description:
        'With `companyName`: create the company when none has that name, in the same transaction.',
    }),
  ),
  emails: Type.Optional(customerFields.emails),
  phones: Type.Optional(customerFields.phones),
  socialHandles: Type.Optional(customerFields.socialHandles),
  websites: Type.Optional(customerFields.websites),
  externalId: Type.Optional(customerFields.externalId),
  customAttributes: Type.Optional(customerFields.customAttributes),
};

export const CreateCustomerBody = Type.Object(
  { name: customerFields.name, ...optionalFields },
  { additionalProperties: false },
);
export type CreateCustomerBody = Static<typeof CreateCustomerBody>;

export const UpdateCustomerBody = Type.Object(
  { name: Type.Optional(customerFields.name), ...optionalFields },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'Lists and attributes given replace the stored ones.',
  },
);
export type UpdateCustomerBody = Static<typeof UpdateCustomerBody>;

export const Customer = Type.Object({
  id: Uuid,
  name: Type.String(),
  companyId: Nullable(Uuid),
  emails: Type.Array(Type.Object({ address: Type.String(), preferred: Type.Boolean() })),
  phones: Type.Array(
    Type.Object({
      number: Type.String({ description: 'As typed.' }),
      e164: Nullable(
        Type.String({
          description:
            'The number in E.164 ("+442079460958"), the form every comparison uses. Null only for a ' +
            'number stored before numbers were parsed that does not parse (kept as typed).',
        }),
      ),
      preferred: Type.Boolean(),
    }),
  ),
  socialHandles: Type.Array(Type.Object({ network: Type.String(), handle: Type.String() })),
  websites: Type.Array(Type.String()),
  externalId: Nullable(Type.String()),
  customAttributes: Attributes,
  createdAt: Timestamp,
  updatedAt: Timestamp,
  lastActivityAt: Timestamp,
});
export type Customer = Static<typeof Customer>;
