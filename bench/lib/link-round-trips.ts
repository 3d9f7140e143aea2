/**
 * The transport alone: pipelined request/response round trips through the
 * coordinator's node links, with nothing above them (no quorum, no promise per
 * request, no value decoding). Both transports talk to the same storage-node
 * worker code; a PING is parsed by the node and answered, so the work per
 * request is identical and what differs is how frames cross threads.
 */
import { fileURLToPath } from 'node:url';
import { type NodeLink, type PendingReply, PostMessageNodeLink, SabNodeLink, type TransportKind } from '../../lib/transport/node-link.js';
import { Op, requestOf } from '../../lib/transport/wire.js';
import { NODE_THREAD_NICE_DEFAULT } from '../../lib/config/options.js';

const WORKER_URL = new URL('../../workers/storage-node.js', import.meta.url);

export async function openLinks(kind: TransportKind, path: string, nodes: number): Promise<NodeLink[]> {
  const links: NodeLink[] = [];
  for (let nodeId = 0; nodeId < nodes; nodeId++) {
    const options = {
      nodeId,
      path: fileURLToPath(new URL(`file://${path}`)),
      durability: 'none' as const,
      conflicts: 'siblings' as const,
      clockEntriesMax: 10,
      objectBytesMax: 1 << 20,
      messageBytesMax: 2 << 20,
      sweepIntervalMs: 60_000,
      nodeThreadNice: NODE_THREAD_NICE_DEFAULT,
      transport: kind,
      ringBytes: 1 << 20,
      workerUrl: WORKER_URL,
    };
    links.push(kind === 'sab' ? new SabNodeLink(options) : new PostMessageNodeLink(options));
  }
  await Promise.all(links.map((link) => link.whenReady()));
  return links;
}

/**
 * `count` round trips spread over the links, `inFlight` outstanding at once:
 * every answer sends the next request, like a pipelined client.
 */
export function roundTrips(links: readonly NodeLink[], count: number, inFlight: number, key: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = 0;
    const reply: PendingReply = {
      onReply: () => {
        answered++;
        if (answered === count) resolve();
        else if (sent < count) send();
      },
      onNodeFailure: (_node, error) => reject(error),
    };
    const ping = requestOf(Op.PING, key, undefined);
    const send = () => {
      const link = links[sent % links.length]!;
      sent++;
      link.send(ping, reply, 0);
    };
    while (sent < Math.min(inFlight, count)) send();
  });
}

export async function closeLinks(links: readonly NodeLink[]): Promise<void> {
  await Promise.all(links.map((link) => link.stop()));
}
