/**
 * DynamoDB JSON bodies on the way out: binary values (B, BS, and any other
 * Uint8Array the dispatcher returns) become base64 strings, as DynamoDB sends
 * them (DynamoDB API reference: AttributeValue B), and a Date becomes epoch
 * seconds, as DynamoDB sends timestamps such as CreationDateTime.
 *
 * The conversion copies only the branches that hold such values, and then
 * JSON.stringify runs without a replacer: a replacer function costs a call
 * per member, which made it the largest part of a small request's time.
 */
import { encodeBase64 } from './base64.js';

/** The value with binaries as base64 and dates as epoch seconds; unchanged branches are shared, not copied. */
export function toWireJson(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array) return encodeBase64(value);
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const converted = toWireJson(value[i]);
      if (converted !== value[i]) (copy ??= value.slice())[i] = converted;
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const key in value) {
    const member = (value as Record<string, unknown>)[key];
    const converted = toWireJson(member);
    if (converted !== member) {
      copy ??= { ...(value as Record<string, unknown>) };
      copy[key] = converted;
    }
  }
  return copy ?? value;
}

export function encodeJsonBody(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(toWireJson(value)), 'utf8');
}
