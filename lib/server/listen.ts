/**
 * Starts an HTTP server listening and says where: the one way serve() and
 * the inspector bind, so both report their address alike (an IPv6 address
 * in brackets in the URL) and both fail with the listen error (EADDRINUSE...).
 */
import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Listening {
  /** The bound address, as the socket reports it. */
  readonly address: string;
  readonly port: number;
  /** `http://host:port`, the host bracketed when it is IPv6. */
  readonly origin: string;
}

export async function listen(server: http.Server, port: number, host: string): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const urlHost = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
  return { address: bound.address, port: bound.port, origin: `http://${urlHost}:${bound.port}` };
}
