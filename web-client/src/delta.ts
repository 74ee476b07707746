/**
 * Delta snapshots as the demo sees them: the `tickcast-client` SDK (web-client/sdk), under the
 * path arena.ts imports them by. Nothing is defined here.
 */
export * from 'tickcast-client';
