export const MAX_EVENT_BYTES = 32 * 1024;
