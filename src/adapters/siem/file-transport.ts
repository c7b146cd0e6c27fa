import { appendFile } from 'node:fs/promises';
import type { ResolvedSink } from './sink-spec.js';
import type { Channel, Transport } from './transport.js';

/**
 * `file://`: JSON lines appended to a file (created with mode 0600: audit data is sensitive).
 * The file is opened for each batch, so a log rotator may move it away at any time and the
 * next batch starts a new file.
 */
export function fileTransport(spec: ResolvedSink): Transport {
  if (spec.type !== 'file') throw new Error(`not a file sink: ${spec.url}`);
  const { path } = spec;
  const append = (text: string) => appendFile(path, text, { mode: 0o600 });
  return {
    type: 'file',
    format: 'json',
    maxBatch: 1000,
    async open(): Promise<Channel> {
      // Fails now, not at the first event, when the file cannot be written.
      await append('');
      return {
        send: (messages) => append(`${messages.join('\n')}\n`),
        onBroken() {},
        async end() {},
        destroy() {},
      };
    },
  };
}
