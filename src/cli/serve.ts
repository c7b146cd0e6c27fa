import type { Command } from 'commander';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the Keyward server (SQLite in the data directory unless KEYWARD_DATABASE_URL is set)')
    .option('--port <port>', 'TCP port (env KEYWARD_PORT, default 7373)')
    .option('--host <host>', 'listen address (env KEYWARD_HOST, default 127.0.0.1)')
    .option('--data <dir>', 'data directory (env KEYWARD_DATA_DIR, default ./.keyward)')
    .option(
      '--siem <sinks>',
      'SIEM sinks, comma-separated: syslog+tcp|tls|udp://host:port, file:///path.jsonl (env KEYWARD_SIEM)',
    )
    .action(async (opts: { port?: string; host?: string; data?: string; siem?: string }) => {
      // Imported on use: client commands should not pay for loading Fastify and the drivers.
      const { startServer } = await import('../server/start.js');
      const server = await startServer(opts);
      const stop = (signal: string) => {
        process.stderr.write(`keyward: ${signal} received, draining requests…\n`);
        server.close().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(
              `keyward: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`,
            );
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
