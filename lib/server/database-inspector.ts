/**
 * `db.inspector({ port })`: the live inspector (inspector.ts) on this
 * Database, on its own loopback server.
 *
 * Why it is defined here and not in lib/tables/database.ts: the inspector is
 * a web server (this layer, rank 10), and the tables layer (rank 8) must not
 * import upwards (ARCHITECTURE.md). As db.requestHandler does
 * (lib/dynamodb/database-request-handler.ts), this module adds the method to
 * Database.prototype and declares it by module augmentation; lib/index.ts
 * exports `Database` through this module, so whoever imports ringtable gets
 * both, and the method's type.
 */
import { Database } from '../dynamodb/database-request-handler.js';
import { inspector, type InspectorOptions, type InspectorServer } from './inspector.js';

declare module '../tables/database.js' {
  interface Database {
    /** The live inspector on this database, on loopback: `(await db.inspector({ port: 0 })).url`. */
    inspector(options?: InspectorOptions): Promise<InspectorServer>;
  }
}

Object.defineProperty(Database.prototype, 'inspector', {
  configurable: true,
  enumerable: false,
  writable: true,
  value: function inspectorOf(this: Database, options: InspectorOptions = {}): Promise<InspectorServer> {
    return inspector({ ...options, database: this });
  },
});

export { Database };
