// Source authentication lives in `request-identity.ts` with the rest of who sent a request.
export { authenticateSource, findSource, writeKeyFromHeader } from './request-identity.js';
