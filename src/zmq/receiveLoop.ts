/**
 * The one receive loop of every sacbridge socket that takes requests (control, policy). A
 * receive error never ends it: ZeroMQ reports a message it had to discard (a REP socket drops
 * a request without the empty delimiter frame and the wake-up surfaces as EAGAIN) as an error
 * of the receive call, and an error that left the loop would leave the socket deaf or, from a
 * promise nobody awaits, abort the process. Only closing the socket ends the loop.
 */

export interface ReceivingSocket {
  readonly closed: boolean;
  receive(): Promise<Buffer[]>;
}

/** Codes a failed receive is counted under. */
export const RECEIVE_ERROR_CODES = ['envelope', 'receive_error'] as const;

/** The class a receive error is counted under: 'envelope' for a message ZeroMQ discarded. */
export function receiveErrorCode(err: unknown): string {
  return (err as { code?: unknown }).code === 'EAGAIN' ? 'envelope' : 'receive_error';
}

/**
 * Receive and hand over each message until the socket is closed. `onMessage` may be async (the
 * next receive waits for it, as a REP socket must); `onError` is told of every failed receive.
 */
export async function receiveLoop(
  socket: ReceivingSocket,
  isClosed: () => boolean,
  onMessage: (frames: Buffer[]) => void | Promise<void>,
  onError: (code: string, err: unknown) => void,
): Promise<void> {
  let failures = 0;
  while (!isClosed() && !socket.closed) {
    let frames: Buffer[];
    try {
      frames = await socket.receive();
    } catch (err) {
      if (isClosed() || socket.closed) return;
      onError(receiveErrorCode(err), err);
      // A socket that fails every receive must not spin a core: back off, up to 100 ms.
      failures++;
      if (failures > 10) await new Promise((r) => setTimeout(r, Math.min(100, failures)));
      continue;
    }
    failures = 0;
    try {
      await onMessage(frames);
    } catch (err) {
      // The handlers answer every request themselves; anything escaping them is a bug, counted.
      onError('internal', err);
    }
  }
}
