/**
 * The protocol as the demo sees it: the `tickcast-client` SDK (web-client/sdk), under the path
 * arena.ts and main.ts import it by. Nothing is defined here.
 */
export * from 'tickcast-client';
