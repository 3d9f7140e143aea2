/** The Hash interface @smithy/signature-v4 expects, on node:crypto, for signing raw test requests. */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

export class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | Uint8Array) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data: string | Uint8Array | ArrayBuffer): void {
    if (data instanceof ArrayBuffer) data = new Uint8Array(data);
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}
