#!/usr/bin/env bash
# Here (development machine): what the GPU-machine runs of scripts/export/gpu/ carry, in .device/
# (git-ignored): the app's harness site (a vite build, compressed, without its model copy) and the
# still-only reference question as the harness takes it (runargs.json).
#   bash scripts/export/gpu/pack.sh      # ~1 min; prints the sizes
set -euo pipefail
cd "$(dirname "$0")/../../.."
mkdir -p .device
npx vite build --outDir dist-gpu --logLevel warn
rm -rf dist-gpu/models
tar -cJf .device/site.tar.xz -C dist-gpu .
node --input-type=module -e "
import { readFileSync, writeFileSync } from 'node:fs';
const fx = JSON.parse(readFileSync('e2e/fixtures/reference/still-sample5.json', 'utf8'));
const all = JSON.parse(readFileSync('../shared/seedbench/EgoPlan_validation.json', 'utf8'));
const record = JSON.stringify([all.find((r) => r.sample_id === fx.sample_id)]);
const run = { file: 'EgoPlan_validation.json', record, wording: 'seed-bench-r1',
  stillPng: '/test-files/fixtures/' + fx.still_252_png,
  scoring: { official: true, letters: true, likelihood: false }, maxNewTokens: 16 };
writeFileSync('.device/runargs.json', JSON.stringify({ run }));
"
ls -l .device/site.tar.xz .device/runargs.json
