/**
 * DynamoDB JSON bodies on the way out: binary values (B, BS, and any other
 * Uint8Array the dispatcher returns) become base64 strings, as DynamoDB sends
 * them (DynamoDB API reference: AttributeValue B), and a Date becomes epoch
 * seconds, as DynamoDB sends timestamps such as CreationDateTime.
 */
import { encodeBase64 } from './base64.js';

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // `this[key]` is the value before toJSON: Buffer and Date have one.
  const original = this[key];
  if (original instanceof Uint8Array) return encodeBase64(original);
  if (original instanceof Date) return original.getTime() / 1000;
  return value;
}

export function encodeJsonBody(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value, replacer), 'utf8');
}
