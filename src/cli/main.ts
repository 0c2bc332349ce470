#!/usr/bin/env node
// Placeholder entry point: the CLI commands are added by src/cli/*.
process.stderr.write('sacbridge: no commands yet\n');
process.exitCode = 64;
