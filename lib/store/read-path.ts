/**
 * Which replicas a get reads in place (readPath 'direct'): the decision as a
 * pure function, so the store and the simulation (test/simulation/) decide
 * alike. A replica is read in place only when a message to it would be
 * answered from the same committed data: it is one of the key's own
 * replicas (a stand-in answers from its hints, which only its node reads),
 * and it is up (a down, crashed or stopped node is failed at once by `send`,
 * as before). Whether its environment can be read now at all (a paused or
 * fault-injected node, one not yet opened) is the host's answer, after this.
 */
import type { ReadPath } from '../config/options.js';
import { isHinted, nodeOfTarget } from '../ring/sloppy-quorum.js';
import type { IsUp } from './routing.js';

export function readsInPlace(readPath: ReadPath, target: number, isUp: IsUp): boolean {
  return readPath === 'direct' && !isHinted(target) && isUp(nodeOfTarget(target));
}
