/**
 * The live inspector: a web page under /inspector/ that shows the ring, its
 * nodes, partitions, leaders and hints, the tables, the capacity model's
 * heat map and hottest keys, and each index's lag, updated once a second
 * over server-sent events; and that reads on demand (consistent and
 * eventual side by side, Query, Scan), each read showing its consumed
 * capacity.
 *
 * The page is plain ES modules, CSS and SVG in lib/server/inspector-page/,
 * served as they are (no build step, nothing fetched from elsewhere: it
 * works offline, and its Content-Security-Policy allows only this server).
 *
 * It is mounted by `serve()` (the `inspector` option; `ringtable serve`
 * mounts it on loopback) and served on its own by `inspector({ database })`
 * and `db.inspector()`. It has no authentication, so it is loopback only:
 * it refuses to start elsewhere, and answers only requests whose Host is a
 * loopback name (a page on another site that rebinds its DNS name to
 * 127.0.0.1 gets 403). It only reads; nothing on it writes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import { fileURLToPath } from 'node:url';
import { ErrorCode, RingtableError } from '../errors.js';
import type { Database } from '../tables/database.js';
import { actionError, compareReads, queryItems, scanItems } from './inspector-actions.js';
import { sourcesOf, takeSnapshot, type SnapshotSources } from './inspector-snapshot.js';
import { DEFAULT_HOST, isLoopback } from './serve.js';
import { listen } from './listen.js';

export interface InspectorOptions {
  /** TCP port; 0 picks a free one (default DEFAULT_INSPECTOR_PORT). */
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

export const INSPECTOR_PATH = '/inspector/';
/** One snapshot a second: the capacity model's resolution. */
export const SNAPSHOT_INTERVAL_MS = 1000;
/** Pages open at once; more get 503. */
export const STREAMS_MAX = 32;
/** A page that has not read this much of its stream skips snapshots until it catches up (a bound per page). */
export const STREAM_BUFFER_BYTES_MAX = 4 * 1024 * 1024;
/** Bound on an action's JSON body. */
export const ACTION_BYTES_MAX = 64 * 1024;
/** The default port of `inspector()` and `db.inspector()`: next to serve's 8000. */
export const DEFAULT_INSPECTOR_PORT = 8001;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

const SECURITY_HEADERS = {
  // Only this server: no inline script or style, no other origin, no framing.
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

type Action = (database: Database, input: Record<string, unknown>) => Promise<unknown>;
const ACTIONS: Readonly<Record<string, Action>> = {
  read: compareReads,
  query: queryItems,
  scan: scanItems,
};

/**
 * The page's files: lib/server/inspector-page/, looked for beside the
 * compiled file (a copy), then as the repository and the package lay them out
 * (dist/lib/server/ and lib/server/), then beside the source the file was
 * compiled from, as its source map (tsconfig's sourceMap) records it: tsc
 * copies no other files, so a build compiled elsewhere (tsc --outDir DIR)
 * serves the page of the tree it was compiled from, with nothing copied.
 */
export function pageDirectoryOf(moduleUrl: string): string {
  const candidates = [new URL('./inspector-page/', moduleUrl), new URL('../../../lib/server/inspector-page/', moduleUrl)];
  const compiledFrom = sourceOf(moduleUrl);
  if (compiledFrom !== undefined) candidates.push(new URL('./inspector-page/', compiledFrom));
  for (const candidate of candidates) {
    const path = fileURLToPath(candidate);
    try {
      readdirSync(path);
      return path;
    } catch {
      // not this one
    }
  }
  throw new RingtableError(ErrorCode.INVALID_STATE, 'inspector: lib/server/inspector-page/ is missing from the installation');
}

/** The source file `moduleUrl` was compiled from, by its source map (`<file>.map`), if it has one. */
function sourceOf(moduleUrl: string): URL | undefined {
  const mapUrl = new URL(`${moduleUrl}.map`);
  try {
    const map = JSON.parse(readFileSync(mapUrl, 'utf8')) as { sourceRoot?: unknown; sources?: unknown };
    const source = Array.isArray(map.sources) ? map.sources[0] : undefined;
    if (typeof source !== 'string') return undefined;
    return new URL(`${typeof map.sourceRoot === 'string' ? map.sourceRoot : ''}${source}`, mapUrl);
  } catch {
    return undefined; // no map, or not one tsc wrote
  }
}

/** Every file of the page, read once: the only paths served (no path from a request reaches the file system). */
function loadPage(): Map<string, { type: string; body: Buffer }> {
  const directory = pageDirectoryOf(import.meta.url);
  const files = new Map<string, { type: string; body: Buffer }>();
  for (const name of readdirSync(directory)) {
    const match = /^[a-z][a-z0-9-]*\.(html|js|css)$/.exec(name);
    if (match !== null) files.set(name, { type: CONTENT_TYPES[match[1]!]!, body: readFileSync(directory + name) });
  }
  return files;
}

/** JSON with binaries (B, BS) as base64, as DynamoDB's JSON writes them. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, replaced: unknown) {
    const original = this[key];
    return original instanceof Uint8Array ? Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64') : replaced;
  });
}

function hostIsLoopback(req: http.IncomingMessage): boolean {
  const host = req.headers.host;
  if (host === undefined) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return isLoopback(name);
}

export interface InspectorRoutesOptions extends SnapshotSources {
  intervalMs?: number;
  clockMs?: () => number;
  onInternalError?: (error: unknown) => void;
}

/** The inspector's HTTP routes, for a server that also serves other things (serve.ts). */
export class InspectorRoutes {
  private readonly page = loadPage();
  private readonly streams = new Set<http.ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private closed = false;

  constructor(private readonly options: InspectorRoutesOptions) {}

  /** Whether the request is the inspector's. */
  handles(req: http.IncomingMessage): boolean {
    const path = pathOf(req);
    return path === '/inspector' || path.startsWith(INSPECTOR_PATH);
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = pathOf(req);
    if (!hostIsLoopback(req)) return this.plain(res, 403, 'the inspector answers loopback host names only');
    if (path === '/inspector') {
      res.writeHead(301, { Location: INSPECTOR_PATH, ...SECURITY_HEADERS });
      res.end();
      return;
    }
    const rest = path.slice(INSPECTOR_PATH.length);
    if (req.method === 'GET' && rest === 'events') return this.openStream(res);
    if (req.method === 'POST' && rest.startsWith('api/')) return this.action(req, res, rest.slice('api/'.length));
    const file = this.page.get(rest === '' ? 'index.html' : rest);
    if ((req.method === 'GET' || req.method === 'HEAD') && file !== undefined) {
      res.writeHead(200, { 'Content-Type': file.type, 'Content-Length': String(file.body.byteLength), ...SECURITY_HEADERS });
      res.end(req.method === 'HEAD' ? undefined : file.body);
      return;
    }
    this.plain(res, 404, 'not found');
  }

  /** Ends every open stream (a server's close would otherwise wait for them). */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    for (const stream of this.streams) stream.end();
    this.streams.clear();
  }

  private plain(res: http.ServerResponse, status: number, message: string): void {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
    res.end(message);
  }

  private openStream(res: http.ServerResponse): void {
    if (this.closed) return this.plain(res, 503, 'closing');
    if (this.streams.size >= STREAMS_MAX) return this.plain(res, 503, `${STREAMS_MAX} inspector pages are open already`);
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', ...SECURITY_HEADERS });
    res.write('retry: 2000\n\n');
    this.streams.add(res);
    // The response's close: the page went away (or the stream was ended here).
    res.on('close', () => {
      this.streams.delete(res);
      if (this.streams.size === 0 && this.timer !== undefined) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    });
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.tick(), this.options.intervalMs ?? SNAPSHOT_INTERVAL_MS);
      this.timer.unref();
    }
    void this.tick();
  }

  /** One snapshot to every open page; a tick still running when the next is due makes that one skip. */
  private async tick(): Promise<void> {
    if (this.ticking || this.streams.size === 0) return;
    this.ticking = true;
    try {
      const snapshot = await takeSnapshot(this.options, (this.options.clockMs ?? Date.now)());
      const event = `event: snapshot\ndata: ${toJson(snapshot)}\n\n`;
      for (const stream of this.streams) {
        if (stream.writableLength <= STREAM_BUFFER_BYTES_MAX) stream.write(event);
      }
    } catch (error) {
      // The database closing under an open page is the expected case; the page shows it is disconnected.
      this.options.onInternalError?.(error);
    } finally {
      this.ticking = false;
    }
  }

  private action(req: http.IncomingMessage, res: http.ServerResponse, name: string): void {
    const action = Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
    if (action === undefined) return this.plain(res, 404, 'not found');
    // JSON only: a form on another site cannot send it without a CORS preflight, which this server never grants.
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) return this.plain(res, 415, 'send application/json');
    const chunks: Buffer[] = [];
    let bytes = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      bytes += chunk.length;
      if (bytes > ACTION_BYTES_MAX) {
        refused = true;
        chunks.length = 0;
        this.plain(res, 413, `an action's body is at most ${ACTION_BYTES_MAX} bytes`);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!refused) void this.answer(res, action, Buffer.concat(chunks));
    });
  }

  private async answer(res: http.ServerResponse, action: Action, body: Buffer): Promise<void> {
    let input: unknown;
    try {
      input = JSON.parse(body.toString('utf8'));
    } catch {
      return this.json(res, 400, { error: { name: 'InspectorRequestError', message: 'the body is not JSON' } });
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      return this.json(res, 400, { error: { name: 'InspectorRequestError', message: 'the body is not a JSON object' } });
    }
    try {
      this.json(res, 200, await action(this.options.database, input as Record<string, unknown>));
    } catch (error) {
      const answer = actionError(error);
      if (answer !== undefined) return this.json(res, answer.status, answer.body);
      this.options.onInternalError?.(error);
      const message = error instanceof Error ? error.message : String(error);
      this.json(res, 500, { error: { name: error instanceof RingtableError ? error.code : 'InternalError', message } });
    }
  }

  private json(res: http.ServerResponse, status: number, value: unknown): void {
    if (res.headersSent || res.destroyed) return;
    const body = Buffer.from(toJson(value));
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(body.byteLength), ...SECURITY_HEADERS });
    res.end(body);
  }
}

function pathOf(req: http.IncomingMessage): string {
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  return queryAt < 0 ? url : url.slice(0, queryAt);
}

export function inspectorRoutes(options: InspectorRoutesOptions): InspectorRoutes {
  return new InspectorRoutes(options);
}

export interface StandaloneInspectorOptions extends InspectorOptions, Partial<Omit<InspectorRoutesOptions, 'database'>> {
  database: Database;
}

/** The inspector on its own server (loopback only): `await inspector({ database, port: 0 })`. */
export async function inspector(options: StandaloneInspectorOptions): Promise<InspectorServer> {
  const host = options.host ?? DEFAULT_HOST;
  if (!isLoopback(host)) {
    throw new RingtableError(ErrorCode.INVALID_OPTIONS, `inspector: refusing to bind ${host}: the inspector has no authentication; bind 127.0.0.1`);
  }
  const { port, host: _host, ...rest } = options;
  const routes = inspectorRoutes({ ...sourcesOf(options.database), ...rest });
  const server = http.createServer((req, res) => {
    if (routes.handles(req)) return routes.handle(req, res);
    res.writeHead(pathOf(req) === '/' ? 302 : 404, { ...(pathOf(req) === '/' ? { Location: INSPECTOR_PATH } : {}), ...SECURITY_HEADERS });
    res.end();
  });
  const address = await listen(server, port ?? DEFAULT_INSPECTOR_PORT, host);
  let closed: Promise<void> | undefined;
  return {
    url: `${address.origin}${INSPECTOR_PATH}`,
    port: address.port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        routes.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
