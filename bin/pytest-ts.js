#!/usr/bin/env node
// pytest-ts: a pytest-compatible runner for TypeScript suites. This file is plain JavaScript so that it can
// install the TypeScript loader before anything written in TypeScript is imported.
import './register.js';

const { main } = await import('../runner/cli.ts');
process.exitCode = await main(process.argv.slice(2));
