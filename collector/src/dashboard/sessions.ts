import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A logged-in browser: its session id (the cookie) and the token its writes must carry. */
export interface DashboardSession {
  id: string;
  csrfToken: string;
  expiresAt: number;
}

export interface DashboardSessionsOptions {
  /** Secrets that open the dashboard (the configured password, the admin key); absent ones are ignored. */
  secrets: readonly (string | undefined)[];
  now?: () => Date;
  /** How long a session lasts (default 12 hours). */
  sessionMs?: number;
  /** How long a one-time login link stays valid (default 24 hours). */
  loginLinkMs?: number;
}

/** Logins, sessions and one-time login links of the dashboard, held in memory (a restart logs everyone out). */
export interface DashboardSessions {
  /** A new session when `secret` is one of the configured secrets, else undefined. */
  logIn(secret: string): DashboardSession | undefined;
  /** A token for a one-time login link (`/dashboard/login/<token>`). */
  issueLoginToken(): string;
  /** A new session for a login token never used before, else undefined; the token is spent. */
  redeemLoginToken(token: string): DashboardSession | undefined;
  /** The live session of a cookie value, else undefined. */
  find(id: string | undefined): DashboardSession | undefined;
  logOut(id: string): void;
}

/**
 * In-memory sessions: an id of 32 random bytes per login, with a CSRF token of its own.
 * Secrets are compared by their SHA-256 in constant time.
 *
 * @example
 * const sessions = createDashboardSessions({ secrets: [config.dashboard.password, config.adminKey] });
 * const link = `${url}/dashboard/login/${sessions.issueLoginToken()}`;
 */
export function createDashboardSessions(options: DashboardSessionsOptions): DashboardSessions {
  const now = options.now ?? (() => new Date());
  const sessionMs = options.sessionMs ?? 12 * 3_600_000;
  const loginLinkMs = options.loginLinkMs ?? 24 * 3_600_000;
  const secrets = options.secrets.filter((secret): secret is string => secret !== undefined && secret !== '').map(digest);
  const sessions = new Map<string, DashboardSession>();
  const loginTokens = new Map<string, number>();

  function open(): DashboardSession {
    const at = now().getTime();
    for (const [id, session] of sessions) if (session.expiresAt <= at) sessions.delete(id);
    const session = { id: token(), csrfToken: token(), expiresAt: at + sessionMs };
    sessions.set(session.id, session);
    return session;
  }

  return {
    logIn(secret) {
      const given = digest(secret);
      // Every secret is compared, so the time taken does not tell which one matched.
      let matched = false;
      for (const known of secrets) matched = timingSafeEqual(given, known) || matched;
      return matched ? open() : undefined;
    },
    issueLoginToken() {
      const value = token();
      loginTokens.set(value, now().getTime() + loginLinkMs);
      return value;
    },
    redeemLoginToken(value) {
      const expiresAt = loginTokens.get(value);
      loginTokens.delete(value);
      return expiresAt !== undefined && expiresAt > now().getTime() ? open() : undefined;
    },
    find(id) {
      if (id === undefined) return undefined;
      const session = sessions.get(id);
      if (session === undefined) return undefined;
      if (session.expiresAt <= now().getTime()) {
        sessions.delete(id);
        return undefined;
      }
      return session;
    },
    logOut(id) {
      sessions.delete(id);
    },
  };
}

function token(): string {
  return randomBytes(32).toString('base64url');
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
