/** Types of scripts/livekit.mjs for the TypeScript that calls it (demo/livekit-server.ts). */
export declare const LIVEKIT_VERSION: string;
export declare function liveKitBinary(): string;
export declare function ensureLiveKit(options?: { log?: (msg: string) => void }): string;
