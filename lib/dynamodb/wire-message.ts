/**
 * One HTTP request and response as the protocol core sees them, the same
 * for the in-process SDK handler and the node:http server: header names are
 * lower case, the body is bytes.
 */
export interface WireRequest {
  method: string;
  /** The path without the query, as sent ("/"). */
  path: string;
  /** The raw query string without "?", "" when there is none. */
  query: string;
  headers: Readonly<Record<string, string | undefined>>;
  body: Uint8Array;
}

export interface WireResponse {
  statusCode: number;
  /** Header names as DynamoDB spells them; the SDK handler lower-cases them. */
  headers: Record<string, string>;
  body: Uint8Array;
}

/** The credentials a server checks signatures against. */
export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}
