/**
 * The V8 flags and environment the daemon runs with (npm start, the `sacbridge` bin,
 * systemd/sacbridge-start; why: src/control/controlLoop.ts and systemd/sacbridge-start), so that
 * benchmark children measure what is deployed.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--single-threaded-gc', '--max-semi-space-size=2'];

/** glibc malloc arenas: 2 instead of one per thread (8 x cores), see systemd/sacbridge-start. */
export const DAEMON_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };
