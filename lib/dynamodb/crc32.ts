/**
 * CRC-32 (IEEE 802.3, the zlib polynomial) of a response body, which DynamoDB
 * sends as `x-amz-crc32` in unsigned decimal (DynamoDB Developer Guide:
 * Programming.LowLevelAPI; aws-sdk-js v2 checks it and retries on mismatch).
 * node:zlib has crc32 from Node 20.15/22.2; older Node 20 releases fall back
 * to a table-driven implementation of the same function.
 */
import * as zlib from 'node:zlib';

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  if (table !== undefined) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** The portable implementation, exported so that tests can compare it with zlib's. */
export function crc32Portable(data: Uint8Array): number {
  const t = crcTable();
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = t[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export function crc32(data: Uint8Array): number {
  return nativeCrc32 !== undefined ? nativeCrc32(data) >>> 0 : crc32Portable(data);
}
