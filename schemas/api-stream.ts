import { Type, type Static } from '@sinclair/typebox';

const Token = '[A-Za-z0-9_-]{1,64}';
const TokenList = (what: string) =>
  Type.String({
    pattern: `^${Token}(,${Token}){0,31}$`,
    description: `${what}; comma-separated for several`,
  });

/** Stream sequences: positive integers, as sent in an SSE `id:` line. */
const eventSeq = (description: string) => Type.String({ pattern: '^[0-9]{1,16}$', description });

/** GET /v1/stream query. EventSource cannot set headers, hence the token and resume point here. */
export const StreamQuery = Type.Object(
  {
    kind: Type.Optional(TokenList('event kinds (alert, ...)')),
    site: Type.Optional(TokenList('site ids')),
    equipment: Type.Optional(Type.String({ pattern: `^${Token}$`, description: 'one equipment unit' })),
    camera: Type.Optional(Type.String({ pattern: `^${Token}$`, description: 'one camera' })),
    lastEventId: Type.Optional(eventSeq('resume after this event id (same as the Last-Event-ID header)')),
    access_token: Type.Optional(
      Type.String({
        maxLength: 4096,
        description: 'access token, for EventSource which cannot send Authorization',
      }),
    ),
  },
  { additionalProperties: false },
);
export type StreamQuery = Static<typeof StreamQuery>;

export const StreamHeaders = Type.Object({
  'last-event-id': Type.Optional(eventSeq('sent by EventSource on reconnect')),
});
