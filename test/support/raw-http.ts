import { connect } from 'node:net';

/**
 * Sends `text` as is on a new connection to `url` and answers everything received until the
 * server closes it: for requests no HTTP client would send, and answers sent before a reset.
 */
export function exchange(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let got = '';
    const socket = connect(Number(port), hostname, () => socket.write(text));
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      got += d;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(got));
  });
}
