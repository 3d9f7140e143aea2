/**
 * The seam through which `db.inspector({ port })` starts the inspector. The
 * inspector is a web server (lib/server/inspector.ts), a layer above the
 * tables, which may not import it (ARCHITECTURE.md); so lib/index.ts, which
 * may import anything, registers the server's factory here when it loads.
 * A Database reached through the package's entry point has it; one reached
 * through lib/tables/database.js alone does not, and says so.
 */
import { ErrorCode, RingtableError } from '../errors.js';

export interface InspectorOptions {
  /** TCP port; 0 picks a free one. */
  port?: number;
  /** Loopback only (the inspector has no authentication); default 127.0.0.1. */
  host?: string;
}

export interface InspectorServer {
  /** The page: http://host:port/inspector/ */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** What lib/server/inspector.ts provides: an inspector over `database` (a Database). */
export type InspectorFactory = (database: unknown, options: InspectorOptions) => Promise<InspectorServer>;

let factory: InspectorFactory | undefined;

export function registerInspectorFactory(inspector: InspectorFactory): void {
  factory = inspector;
}

export function inspectorFactory(): InspectorFactory {
  if (factory === undefined) {
    throw new RingtableError(ErrorCode.INVALID_STATE, "the inspector is served by the package's entry point: import { Database } from 'ringtable'");
  }
  return factory;
}
