/**
 * A PM QoS request on how long an idle CPU may take to wake up (`/dev/cpu_dma_latency`), held
 * for as long as the file stays open: the kernel drops the request when the descriptor closes,
 * also when the process dies. Real-time controllers (and cyclictest) hold 0 µs, so idle CPUs
 * poll instead of entering sleep states and a timer or socket wakes the control thread in
 * microseconds.
 *
 * Measured on this 2-core VM, whose idle state halts the virtual CPU: a bare ZeroMQ round trip
 * over TCP loopback p50 85 -> 45 µs, p99 190 -> 94 µs with a 0 µs request. The cost: an idle
 * CPU polls, drawing power (and host CPU under a hypervisor). Writing needs root, or an ACL or
 * udev rule on the device (systemd/README.md).
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

export const CPU_DMA_LATENCY_PATH = '/dev/cpu_dma_latency';

export class CpuWakeupLatencyRequest {
  private fd: number | null;

  private constructor(
    fd: number,
    readonly maxUs: number,
    readonly path: string,
  ) {
    this.fd = fd;
  }

  /** Ask that no CPU take longer than `maxUs` to wake; throws naming the device and the fix. */
  static hold(maxUs: number, path = CPU_DMA_LATENCY_PATH): CpuWakeupLatencyRequest {
    if (!(Number.isInteger(maxUs) && maxUs >= 0 && maxUs <= 2_000_000_000)) {
      throw new Error(`cpu wake-up latency: the request must be a whole number of microseconds >= 0, got ${maxUs}`);
    }
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const hint = code === 'EACCES' || code === 'EPERM' ? ': needs root, or write access to the device (see systemd/README.md)' : '';
      throw new Error(`cpu wake-up latency: cannot open ${path} (${code ?? (err as Error).message})${hint}`);
    }
    try {
      // The kernel takes a native-endian 32-bit integer (or a hex string); every target here is little-endian.
      const value = Buffer.alloc(4);
      value.writeInt32LE(maxUs);
      writeSync(fd, value);
    } catch (err) {
      closeSync(fd);
      throw new Error(`cpu wake-up latency: writing ${maxUs} µs to ${path} failed: ${(err as Error).message}`);
    }
    return new CpuWakeupLatencyRequest(fd, maxUs, path);
  }

  get held(): boolean {
    return this.fd !== null;
  }

  /** Drop the request (idempotent). */
  release(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }
}

/** Why this process cannot make a wake-up latency request, or null when it can (tried with a no-op value). */
export function cpuWakeupLatencyProblem(path = CPU_DMA_LATENCY_PATH): string | null {
  try {
    CpuWakeupLatencyRequest.hold(2_000_000_000, path).release();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The wake-up latency the kernel currently enforces (the smallest request held by anyone), in µs. */
export function effectiveCpuWakeupLatencyUs(path = CPU_DMA_LATENCY_PATH): number {
  return readFileSync(path).readInt32LE(0);
}
