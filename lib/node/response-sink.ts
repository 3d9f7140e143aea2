/** Where a storage node's answers go: a response ring, postMessage, or a simulated network. */
export interface ResponseSink {
  /** `payload` may be a view that is only valid during the call: copy it. */
  respond(op: number, status: number, requestId: number, payload: Uint8Array | undefined): void;
}
