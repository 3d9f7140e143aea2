/**
 * Which replicas of one key anti-entropy must repair: those whose version is
 * not the merge of all replicas' versions (the DVVSet `sync` of them all),
 * including those that hold nothing. This is what read repair sends (Dynamo
 * §5; quorum/read-quorum.ts repairs()), decided here from canonical causal
 * content alone (version-digest.ts), so no values cross threads.
 *
 * Comparing with the merge, not with a majority, is what makes the answer
 * right with two replicas (one stale: only it; concurrent: both) and with
 * concurrent writes (every replica that lacks a sibling).
 *
 * Pure.
 */
import { sync } from '../version/dotted-version-vector.js';
import { canonicalOfObject, objectOfCanonical } from './version-digest.js';

/**
 * `versions[i]` is replica i's canonical content, or undefined when it holds
 * no live version. Returns the indexes of replicas to repair, ascending;
 * empty when every replica holds the same content (or none holds any).
 */
export function staleReplicas(versions: ReadonlyArray<Uint8Array | undefined>): number[] {
  let first: Uint8Array | undefined;
  let allSame = true;
  for (const version of versions) {
    if (version === undefined) {
      allSame = false;
      continue;
    }
    if (first === undefined) first = version;
    else if (!sameBytes(first, version)) allSame = false;
  }
  if (first === undefined || allSame) return [];
  let merged = objectOfCanonical(first);
  for (const version of versions) {
    if (version !== undefined && version !== first) merged = sync(merged, objectOfCanonical(version));
  }
  const mergedCanonical = canonicalOfObject(merged);
  const stale: number[] = [];
  versions.forEach((version, i) => {
    if (version === undefined || !sameBytes(version, mergedCanonical)) stale.push(i);
  });
  return stale;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
