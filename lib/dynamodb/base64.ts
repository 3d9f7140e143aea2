/**
 * DynamoDB's base64 for B and BS on the wire (DynamoDB API reference:
 * AttributeValue, "B: An attribute of type Binary", sent base64-encoded).
 * Decoding is strict, as DynamoDB's is: the length must be a multiple of 4
 * and the text must be the canonical encoding of its bytes. The messages
 * are those DynamoDB answers in a SerializationException (architect/dynalite
 * test/helpers.js `assertType` 'Blob', recorded against DynamoDB; the typo
 * "dectected" is DynamoDB's).
 */
export const BASE64_ALPHABET = /^[A-Za-z0-9+/]*={0,2}$/;

/** Returns the bytes, or DynamoDB's message for why the text is not base64. */
export function decodeBase64(text: string): Uint8Array | string {
  if (text.length % 4 !== 0) {
    return `Base64 encoded length is expected a multiple of 4 bytes but found: ${text.length}`;
  }
  const bytes = Buffer.from(text, 'base64');
  // Buffer.from skips characters outside the alphabet and ignores non-zero
  // trailing bits; a round trip rejects both, as DynamoDB does.
  if (!BASE64_ALPHABET.test(text) || bytes.toString('base64') !== text) {
    return 'Invalid last non-pad Base64 character dectected';
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
