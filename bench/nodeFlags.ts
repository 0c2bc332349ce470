/**
 * The V8 flags the daemon runs with (npm start, the `sacbridge` bin, systemd/sacbridge-start; why:
 * src/control/controlLoop.ts), so that benchmark children measure what is deployed.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--single-threaded-gc', '--max-semi-space-size=2'];
