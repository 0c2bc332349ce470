/**
 * The few WebAssembly JS-API types the compute path uses. The project compiles against lib
 * ES2022 without DOM, which has no WebAssembly declarations; these local ones avoid adding
 * global declarations that could clash with other modules.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

export interface WasmModule {
  readonly __brand?: 'WebAssembly.Module';
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
}

export const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** A module's imports and exports, as WebAssembly.Module.imports/exports list them. */
export function moduleInterface(module: WasmModule): { imports: { module: string; name: string; kind: string }[]; exports: { name: string; kind: string }[] } {
  const api = (globalThis as unknown as {
    WebAssembly: { Module: { imports(m: WasmModule): { module: string; name: string; kind: string }[]; exports(m: WasmModule): { name: string; kind: string }[] } };
  }).WebAssembly.Module;
  return { imports: api.imports(module), exports: api.exports(module) };
}
