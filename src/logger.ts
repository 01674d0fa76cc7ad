import winston from 'winston';

/**
 * One JSON logger for the whole process. Handlers add method, ids, duration and code; the Docker
 * client adds one debug line per engine call.
 */
export const logger = winston.createLogger({
  level: process.env.DOCKER_CRI_LOG_LEVEL ?? 'info',
  format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
  // stderr keeps stdout free for --help/--version and for tools that pipe the shim.
  transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
});

export function setLogLevel(level: string): void {
  logger.level = level;
}
