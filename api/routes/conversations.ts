import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  addMessage,
  createConversation,
  getConversation,
  updateConversation,
} from '../../db/queries/conversations';
import { conversationChannels, conversationStatuses, messageDirections } from '../../db/schema';
import { IdParams, OneOf, Nullable, problems, Timestamp, UserTime, Uuid } from '../schemas/common';
import { conversationView, messageView } from '../views';
import { can } from '../plugins/auth';

const tags = ['conversations'];

const Channel = OneOf(conversationChannels);
const Status = OneOf(conversationStatuses);

const MessageInput = Type.Object(
  {
    direction: OneOf(messageDirections),
    body: Type.String({ minLength: 1, maxLength: 100_000 }),
    sentAt: Type.Optional(UserTime('When the message was sent; defaults to now.')),
  },
  { additionalProperties: false },
);

const Message = Type.Object({
  id: Uuid,
  direction: Type.String(),
  body: Type.String(),
  sentAt: Timestamp,
});

const Conversation = Type.Object({
  id: Uuid,
  customerId: Uuid,
  channel: Type.String(),
  subject: Type.String(),
  status: Type.String(),
  createdAt: Timestamp,
  lastActivityAt: Timestamp,
  pinnedAt: Nullable(Timestamp),
  messages: Type.Optional(Type.Array(Message)),
});

const toMessage = (input: {
  direction: 'inbound' | 'outbound';
  body: string;
  sentAt?: string | undefined;
}) => ({
  ...input,
  sentAt: input.sentAt ? new Date(input.sentAt) : undefined,
});

const conversations: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/customers/:id/conversations',
    {
      config: { access: can('conversations.write') },
      schema: {
        tags,
        summary: "Start a conversation on a customer's timeline",
        params: IdParams,
        body: Type.Object(
          {
            channel: Channel,
            subject: Type.Optional(Type.String({ maxLength: 500 })),
            status: Type.Optional(Status),
            messages: Type.Optional(Type.Array(MessageInput, { maxItems: 1000 })),
            createdAt: Type.Optional(
              UserTime(
                'When an imported conversation started; defaults to now. Reports count it on that day.',
              ),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: Conversation, ...problems(404) },
      },
    },
    async (request, reply) => {
      const { messages, createdAt, ...rest } = request.body;
      const row = await createConversation(app.db, request.params.id, {
        ...rest,
        createdAt: createdAt ? new Date(createdAt) : undefined,
        messages: messages?.map(toMessage),
      });
      return reply
        .code(201)
        .header('location', `/v1/conversations/${row.id}`)
        .send(conversationView(row));
    },
  );

  app.get(
    '/conversations/:id',
    {
      config: { access: can('conversations.read') },
      schema: {
        tags,
        summary: 'Get a conversation with its messages',
        params: IdParams,
        response: { 200: Conversation, ...problems(404) },
      },
    },
    async (request) => conversationView(await getConversation(app.db, request.params.id)),
  );

  app.patch(
    '/conversations/:id',
    {
      config: { access: can('conversations.write') },
      schema: {
        tags,
        summary: "Change a conversation's status or subject",
        params: IdParams,
        body: Type.Object(
          {
            status: Type.Optional(Status),
            subject: Type.Optional(Type.String({ maxLength: 500 })),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Conversation, ...problems(404) },
      },
    },
    async (request) =>
      conversationView(await updateConversation(app.db, request.params.id, request.body)),
  );

  app.post(
    '/conversations/:id/messages',
    {
      config: { access: can('conversations.write') },
      schema: {
        tags,
        summary: 'Add a message to a conversation',
        params: IdParams,
        body: MessageInput,
        response: { 201: Message, ...problems(404) },
      },
    },
    async (request, reply) => {
      const row = await addMessage(app.db, request.params.id, toMessage(request.body));
      return reply.code(201).send(messageView(row));
    },
  );
};

export default conversations;
