/**
 * The one seeded PRNG of the project: benchmarks (style rule 15: fixed
 * seeds), tests, and the deterministic simulation to come all draw from it,
 * so a seed printed by any of them replays the same run. mulberry32: one
 * 32-bit state word, fast, good enough to pick keys, schedules and bytes;
 * not cryptographic.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform integer in [0, bound); bound at most 2^32. */
  nextBelow(bound: number): number {
    // Multiply-shift instead of modulo: no bias worth measuring at these sizes, no division.
    return Math.floor((this.nextUint32() / 4294967296) * bound);
  }

  fill(bytes: Uint8Array): Uint8Array {
    let i = 0;
    for (; i + 4 <= bytes.length; i += 4) {
      const x = this.nextUint32();
      bytes[i] = x;
      bytes[i + 1] = x >>> 8;
      bytes[i + 2] = x >>> 16;
      bytes[i + 3] = x >>> 24;
    }
    if (i < bytes.length) {
      let x = this.nextUint32();
      for (; i < bytes.length; i++, x >>>= 8) bytes[i] = x;
    }
    return bytes;
  }
}

/** Derive independent streams (keys, values, access order) from one user-facing seed. */
export function deriveSeed(seed: number, stream: number): number {
  return new Prng((seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0).nextUint32();
}

/** A plain function drawing uniform 32-bit integers, for call sites that want one. */
export function uint32Source(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.nextUint32();
}
