/**
 * `db.requestHandler`: the Database's own in-process AWS SDK request handler,
 * `new DynamoDBClient({ region, credentials, requestHandler: db.requestHandler })`.
 *
 * Why it is defined here and not in lib/tables/database.ts: the handler is
 * DynamoDB's wire protocol (this layer, rank 9), and the tables layer (rank 8)
 * must not import upwards (ARCHITECTURE.md). So this module, which points
 * down at the Database, adds the property to Database.prototype and declares
 * it on the class by module augmentation; lib/index.ts exports `Database`
 * through this module, so whoever imports ringtable gets both the property
 * and its type. The handler is built on first use and kept, one per Database
 * (a WeakMap, so a closed and dropped Database takes its handler with it).
 */
import { Database } from '../tables/database.js';
import { createRequestHandler, type InProcessRequestHandler } from './request-handler.js';

declare module '../tables/database.js' {
  interface Database {
    /**
     * An AWS SDK v3 request handler that answers in this process, with
     * DynamoDB's exact responses: pass it as the client's `requestHandler`.
     * Signatures are not verified (nothing crosses a trust boundary).
     */
    readonly requestHandler: InProcessRequestHandler;
  }
}

const handlers = new WeakMap<Database, InProcessRequestHandler>();

export function requestHandlerOf(database: Database): InProcessRequestHandler {
  let handler = handlers.get(database);
  if (handler === undefined) {
    handler = createRequestHandler({ dispatcher: database });
    handlers.set(database, handler);
  }
  return handler;
}

Object.defineProperty(Database.prototype, 'requestHandler', {
  configurable: true,
  enumerable: false,
  get(this: Database): InProcessRequestHandler {
    return requestHandlerOf(this);
  },
});

export { Database };
