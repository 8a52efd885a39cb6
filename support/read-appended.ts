/** Reading a file as it grows (logs, key logs): only the bytes it gained since the last read. */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * What `path` gained after `position`, as latin1 text (byte for byte), and the
 * position after it. A file that shrank (truncated) is read again from its
 * start; null when it cannot be opened (not written yet).
 */
export function readAppended(path: string, position: number): { readonly text: string; readonly position: number } | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const from = size < position ? 0 : position;
    if (size === from) return { text: '', position: from };
    const chunk = Buffer.alloc(size - from);
    const read = readSync(fd, chunk, 0, chunk.length, from);
    return { text: chunk.subarray(0, read).toString('latin1'), position: from + read };
  } finally {
    closeSync(fd);
  }
}
