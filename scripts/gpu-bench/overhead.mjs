// Dawn (dawn.node, Vulkan) round trips on the GPU machine, without ORT: per-dispatch submit cost,
// submit + onSubmittedWorkDone latency, and a 4-byte readback (copy + mapAsync), which onnxruntime-web
// pays at least once per decode step (the logits). Prints one JSON object.
//   GB_LIB=<lib> node overhead.mjs
import { join, resolve } from 'node:path';

const lib = resolve(process.env.GB_LIB ?? join(import.meta.dirname, '../../.gpubench/lib'));
const { create, globals } = await import(join(lib, 'webgpu/index.js'));
Object.assign(globalThis, globals);
const adapter = await create([]).requestAdapter({ powerPreference: 'high-performance' });
const device = await adapter.requestDevice();
const res = { adapter: adapter.info.description };
const buf = device.createBuffer({
  size: 4,
  usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
});
const read = device.createBuffer({
  size: 4,
  usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
});
const pipeline = device.createComputePipeline({
  layout: 'auto',
  compute: {
    module: device.createShaderModule({
      code: '@group(0) @binding(0) var<storage, read_write> v: array<u32>; @compute @workgroup_size(1) fn main() { v[0] = v[0] + 1u; }',
    }),
    entryPoint: 'main',
  },
});
const bind = device.createBindGroup({
  layout: pipeline.getBindGroupLayout(0),
  entries: [{ binding: 0, resource: { buffer: buf } }],
});
const dispatch = () => {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(1);
  pass.end();
  return enc;
};
const time = async (n, fn) => {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return ((performance.now() - t0) / n) * 1000;
};
for (let i = 0; i < 50; i++) device.queue.submit([dispatch().finish()]);
await device.queue.onSubmittedWorkDone();
let t0 = performance.now();
// In batches: thousands of queued submits crash SwiftShader (std::system_error in a futex).
for (let b = 0; b < 10; b++) {
  for (let i = 0; i < 100; i++) device.queue.submit([dispatch().finish()]);
  await device.queue.onSubmittedWorkDone();
}
res.submit_per_dispatch_us = ((performance.now() - t0) / 1000) * 1000;
t0 = performance.now();
const enc = device.createCommandEncoder();
for (let i = 0; i < 2000; i++) {
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(1);
  pass.end();
}
device.queue.submit([enc.finish()]);
await device.queue.onSubmittedWorkDone();
res.dispatch_in_one_submit_us = ((performance.now() - t0) / 2000) * 1000;
res.submit_and_wait_us = await time(300, async () => {
  device.queue.submit([dispatch().finish()]);
  await device.queue.onSubmittedWorkDone();
});
res.readback_4_bytes_us = await time(300, async () => {
  const e = dispatch();
  e.copyBufferToBuffer(buf, 0, read, 0, 4);
  device.queue.submit([e.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  read.unmap();
});
console.log(JSON.stringify(res));
process.exit(0);
