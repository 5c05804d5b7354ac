import type { FastifyInstance } from 'fastify';
import { VigilError, findNul } from '../schemas/mod.ts';

/**
 * Every request's body, query and path parameters are refused with `NUL_CHARACTER` (400) when
 * a string in them holds U+0000, which PostgreSQL cannot store or compare: one check for every
 * route, before validation, instead of a 500 from whichever query meets it first.
 */
export function installTextGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    for (const [part, value] of [
      ['body', request.body],
      ['querystring', request.query],
      ['params', request.params],
    ] as const) {
      const at = findNul(value);
      if (at !== null)
        throw new VigilError('NUL_CHARACTER', `${part}${at}: contains a NUL character (U+0000)`, {
          details: [{ in: part, path: at }],
        });
    }
  });
}
