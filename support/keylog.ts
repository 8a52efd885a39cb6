/**
 * On request (`--keylog FILE`), the TLS secrets of the run in the NSS key log
 * format that Wireshark reads, from every implementation that can write
 * them: Node (its keylog events), Python (create_default_context and
 * urllib3 honour SSLKEYLOGFILE; the wrap_socket server is given the file),
 * curl (SSLKEYLOGFILE), openssl s_client/s_server (-keylogfile), Chromium
 * (each browser writes its own key log, which the adapter reads and copies
 * here line by line). nginx and Apache have no such setting. The command line puts the path in
 * SSLKEYLOGFILE, which worker and peer processes inherit.
 */
import { appendFileSync } from 'node:fs';

export function keylogFile(): string | undefined {
  return process.env.SSLKEYLOGFILE || undefined;
}

/** Append one NSS key log line (Node gives each with its newline). */
export function writeKeylogLine(line: Buffer): void {
  const file = keylogFile();
  if (file) appendFileSync(file, line, { mode: 0o600 });
}
