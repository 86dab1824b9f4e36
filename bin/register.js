// `node --import pytest-ts/register file.ts`: run a TypeScript file with the same loader pytest-ts uses.
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
export const transformCacheDir = process.env.PYTEST_TS_TRANSFORM_CACHE || join(packageRoot, 'node_modules', '.cache', 'pytest-ts');

// Stack traces must point at TypeScript lines, not at esbuild's output.
process.setSourceMapsEnabled(true);
register('./ts-hooks.js', import.meta.url, { data: { cacheDir: transformCacheDir } });
