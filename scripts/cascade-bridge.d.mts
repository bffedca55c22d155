/** Types of scripts/cascade-bridge.mjs for the TypeScript that calls it (server/cascade/bridge-worker.ts). */
export declare const CASCADE_BRIDGE_NAME: string;
export declare function cascadeBridgeBinary(): string;
export declare function ensureCascadeBridge(options?: { log?: (msg: string) => void }): string;
