/** Where the engine reports what it does; pages pass their own to show or collect it. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, message: string, data?: unknown) => void;

export function consoleLogger(prefix = 'pairux'): Logger {
  return (level, message, data) => {
    const line = `[${prefix}] ${message}`;
    const fn = level === 'debug' ? console.debug : level === 'info' ? console.info : level === 'warn' ? console.warn : console.error;
    if (data === undefined) fn(line);
    else fn(line, data);
  };
}

export const silentLogger: Logger = () => undefined;
