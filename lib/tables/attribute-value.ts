/**
 * DynamoDB's AttributeValue, exactly as its API takes and returns it
 * (DynamoDB API reference: AttributeValue). Numbers travel as strings (`N`)
 * so that 38 significant digits survive; binaries are Uint8Arrays here (the
 * wire layer converts base64). One member is set per value.
 */
export type AttributeValue =
  | { S: string }
  | { N: string }
  | { B: Uint8Array }
  | { BOOL: boolean }
  | { NULL: true }
  | { M: AttributeMap }
  | { L: AttributeValue[] }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: Uint8Array[] };

/** An item, or a key, or any map of attribute names to values. */
export type AttributeMap = Record<string, AttributeValue>;

/** The ten type descriptors, as DynamoDB names them (attribute_type's second argument). */
export type AttributeType = 'S' | 'N' | 'B' | 'BOOL' | 'NULL' | 'M' | 'L' | 'SS' | 'NS' | 'BS';

export const ATTRIBUTE_TYPES: readonly AttributeType[] = ['S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L', 'SS', 'NS', 'BS'];

/** The type descriptor of a value that has already been validated. */
export function typeOf(value: AttributeValue): AttributeType {
  for (const type in value) return type as AttributeType;
  throw new Error('typeOf: an AttributeValue with no member');
}
