/**
 * npx tsx scripts/run-python.ts SCRIPT.py [args...]
 *
 * Runs a Python script of scripts/export/ with the first interpreter that has numpy and onnx:
 * $PYTHON, then python3, then /usr/bin/python3 (Debian's python3-numpy and python3-onnx, which
 * .ci/run installs). The exporter needs nothing else (no torch, no onnxruntime).
 */
import { spawnSync } from 'node:child_process';

const candidates = [process.env['PYTHON'], 'python3', '/usr/bin/python3'].filter((c): c is string =>
  Boolean(c),
);
const python = candidates.find(
  (c) => spawnSync(c, ['-c', 'import numpy, onnx'], { stdio: 'ignore' }).status === 0,
);
if (!python) {
  console.error(
    `run-python: no Python with numpy and onnx among ${candidates.join(', ')}; ` +
      'install them (Debian: apt-get install python3-numpy python3-onnx; else pip install numpy onnx) or set PYTHON.',
  );
  process.exit(1);
}
const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error('usage: tsx scripts/run-python.ts SCRIPT.py [args...]');
  process.exit(2);
}
const r = spawnSync(python, [script, ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
