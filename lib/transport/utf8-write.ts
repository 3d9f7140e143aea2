/**
 * A string's UTF-8 bytes written into a Buffer, for the short keys every
 * request carries. Buffer.prototype.write's call into native code costs more
 * than the copy itself on a key of a few dozen bytes (16-character keys,
 * alternating rounds under load: 190-250 ns per write, 70-120 ns for the
 * loop; a putMany coordinator writes each key N times), so an ASCII string,
 * the usual key, is copied by a loop.
 */

/** Longest string copied by the loop; past it Buffer.write's native copy is the cheaper. */
export const UTF8_LOOP_CHARS_MAX = 64;

/**
 * `text` as UTF-8 at `at` in `bytes`, whose UTF-8 length the caller measured
 * (`byteLength`, Buffer.byteLength): returns the bytes written, as
 * Buffer.write does (fewer only if `bytes` ends first).
 */
export function writeUtf8(bytes: Buffer, at: number, text: string, byteLength: number): number {
  // UTF-8 takes as many bytes as UTF-16 takes units only for ASCII: every
  // other unit (lone surrogates included, as U+FFFD) takes two or three.
  if (byteLength === text.length && byteLength <= UTF8_LOOP_CHARS_MAX && at + byteLength <= bytes.byteLength) {
    for (let i = 0; i < byteLength; i++) {
      const unit = text.charCodeAt(i);
      if (unit >= 0x80) return bytes.write(text, at, byteLength, 'utf8');
      bytes[at + i] = unit;
    }
    return byteLength;
  }
  return bytes.write(text, at, byteLength, 'utf8');
}
