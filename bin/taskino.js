#!/usr/bin/env node
// The taskino CLI; the code lives in dist/ (npm run build, which npm install runs through "prepare").
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
