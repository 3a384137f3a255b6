import { Type, type Static } from 'typebox';
import {
  ATTRIBUTE_NAME_PATTERN,
  attributeEntities,
  attributeTypes,
  MAX_OPTION_LENGTH,
  MAX_OPTIONS,
} from '../../domain/attributes';
import { Name, Nullable, OneOf, Timestamp, Uuid } from './common';

const Options = Type.Array(Type.String({ minLength: 1, maxLength: MAX_OPTION_LENGTH }), {
  maxItems: MAX_OPTIONS,
  description:
    'The allowed values of a `select` or `multi-select` attribute (required for them, refused for other types).',
});

const editable = {
  label: Name(200),
  type: OneOf(attributeTypes, {
    description:
      'text, number, boolean, date (YYYY-MM-DD), date-time (RFC 3339 with a zone), url, email, select (one of `options`), multi-select (several of `options`).',
  }),
  options: Nullable(Options),
  description: Nullable(Type.String({ maxLength: 2000 })),
  searchable: Type.Boolean({
    description: 'Search finds customers by this attribute (customers only).',
  }),
  filterable: Type.Boolean({
    description: 'Search filters customers by it: `attr.<name>=<op>:<value>` (customers only).',
  }),
};

export const CreateAttributeDefinitionBody = Type.Object(
  {
    entity: OneOf(attributeEntities),
    name: Type.String({
      pattern: ATTRIBUTE_NAME_PATTERN,
      description:
        'Stable: the key in `customAttributes`. A lower-case letter, then letters, digits and `_`; at most 63.',
    }),
    label: editable.label,
    type: editable.type,
    options: Type.Optional(editable.options),
    description: Type.Optional(editable.description),
    searchable: Type.Optional(editable.searchable),
    filterable: Type.Optional(editable.filterable),
  },
  { additionalProperties: false },
);
export type CreateAttributeDefinitionBody = Static<typeof CreateAttributeDefinitionBody>;

export const UpdateAttributeDefinitionBody = Type.Object(
  {
    label: Type.Optional(editable.label),
    type: Type.Optional(editable.type),
    options: Type.Optional(editable.options),
    description: Type.Optional(editable.description),
    searchable: Type.Optional(editable.searchable),
    filterable: Type.Optional(editable.filterable),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'The name and entity never change. A type change is refused while values exist.',
  },
);

export const AttributeDefinition = Type.Object({
  id: Uuid,
  entity: Type.String({ description: attributeEntities.join(' | ') }),
  name: Type.String(),
  label: Type.String(),
  type: Type.String({ description: attributeTypes.join(' | ') }),
  options: Nullable(Type.Array(Type.String())),
  description: Nullable(Type.String()),
  searchable: Type.Boolean(),
  filterable: Type.Boolean(),
  status: Type.String({ description: 'active | clearing (being removed by the job `clearJobId`)' }),
  clearJobId: Nullable(Uuid),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
