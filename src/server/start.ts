import { mkdirSync } from 'node:fs';
import { type DestinationStream, type Logger, pino } from 'pino';
import { buildApp } from '../http/app.js';
import { logSerializers } from '../http/log.js';
import { type Config, type ConfigFlags, loadConfig } from './config.js';
import { buildServices, type Services } from './services.js';

export interface RunningServer {
  url: string;
  services: Services;
  close(): Promise<void>;
}

/**
 * The server's logger: JSON lines on stdout (or `destination`) at `KEYWARD_LOG_LEVEL`.
 * The benchmarks' servers use it too, so that they log what `npm start` logs.
 */
export function serverLogger(config: Config, destination?: DestinationStream): Logger {
  const options = {
    level: config.logLevel,
    // Never log credentials, even if a future log call passes headers along.
    redact: ['req.headers.authorization', 'headers.authorization', '*.key', 'key'],
    // A key in a URL or an error message is redacted too.
    serializers: logSerializers,
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Starts the server: config → services → bootstrap → HTTP. On an empty store the bootstrap
 * root key is printed once on stdout, on a line of its own starting with `root key: `.
 */
export async function startServer(
  flags: ConfigFlags,
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<RunningServer> {
  const config: Config = loadConfig(flags);
  if (!config.databaseUrl) mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const logger = serverLogger(config);
  const services = await buildServices(config, { logger });
  const bootstrapped = await services.workspaces.bootstrap();
  if (bootstrapped) {
    out(`root key: ${bootstrapped.key}`);
    out('  (printed once: store it now, e.g. export KEYWARD_ROOT_KEY=…; it is never shown again)');
  }
  const app = await buildApp(services, { logger });
  const address = await app.listen({ port: config.port, host: config.host });
  logger.info({ address, dataDir: config.databaseUrl ? undefined : config.dataDir }, 'keyward listening');
  services.startWebhooks();
  services.scheduler.start();
  let closing: Promise<void> | null = null;
  return {
    url: address,
    services,
    close() {
      closing ??= (async () => {
        await app.close();
        await services.close();
      })();
      return closing;
    },
  };
}
