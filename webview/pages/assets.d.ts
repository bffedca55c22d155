// esbuild turns CSS imported from a page into a sibling .css bundle; TypeScript only needs to know the import exists.
declare module '*.css';
