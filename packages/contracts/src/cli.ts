#!/usr/bin/env node
import { runCli } from './cli-commands.ts';

process.exitCode = runCli(process.argv.slice(2));
