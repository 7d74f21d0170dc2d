#!/usr/bin/env node
/**
 * The shrinkray command's entry. Dawn prints notices on stderr from native code when it opens an
 * adapter (native-notices.ts); a process cannot filter its own native output, so the command runs
 * in a child process whose stderr passes through a filter, unless --verbose, help, --version or
 * SHRINKRAY_NATIVE_LOGS=1 asks otherwise. The entry loads nothing else before that choice, so
 * the extra process costs only Node's start.
 */
import { runFiltered, shouldFilter } from './native-notices.js';

const args = process.argv.slice(2);
if (shouldFilter(args)) process.exitCode = await runFiltered(args);
else await import('./run.js');
