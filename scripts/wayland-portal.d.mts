/** Types of scripts/wayland-portal.mjs for the TypeScript that calls it (test/helper/support/wayland.ts). */
export declare const PORTAL_PACKAGE: string;
export declare const PORTAL_VERSION: string;
export declare const PORTAL_BUILD_APT: string[];
export declare function waylandPortalBinary(): string;
export declare function ensureWaylandPortal(options?: { log?: (msg: string) => void }): string;
