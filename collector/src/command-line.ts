import { userInfo } from 'node:os';

/**
 * Runs a command-line tool's `main` and exits with the status it returns; an unexpected
 * error prints `<name> failed: <message>` and exits with 1.
 *
 * @example
 * runCommandLine('privacy', main);
 */
export function runCommandLine(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`${name} failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}

/** The login of whoever runs a command-line tool, kept with what they did; undefined when the system cannot say. */
export function operatorLogin(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}
