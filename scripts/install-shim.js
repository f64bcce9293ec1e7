#!/usr/bin/env node
/*
 * npm "install" step of the tsnet package: builds the CNI exec shim for this machine (its node and
 * paths are compiled in, so it cannot be built at pack time). Never fatal: without a C compiler, or
 * when the compiler fails, tsnet-cni runs as the node plugin alone. In a source checkout before the
 * first build (npm ci) there is nothing to build yet.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const shim = path.join(__dirname, '..', 'build', 'plugins', 'cni', 'shim.js');
if (!fs.existsSync(shim)) process.exit(0);
try {
  const { compileShim, defaultShimConfig, BUILT_SHIM } = require(shim);
  const result = compileShim(BUILT_SHIM, defaultShimConfig());
  process.stdout.write(result === 'built' ? `tsnet: CNI shim built: ${BUILT_SHIM}\n` : `tsnet: no C compiler (${process.env.CC || 'cc'}): CNI shim skipped, tsnet-cni runs as the node plugin\n`);
} catch (err) {
  process.stdout.write(`tsnet: CNI shim skipped (${String(err.message).split('\n')[0]}); tsnet-cni runs as the node plugin\n`);
}
