/**
 * The WebGPU device the fast engine hands to onnxruntime (instead of letting it create one): every
 * feature and the largest limits the adapter offers, except `subgroups` on adapters whose subgroups
 * are narrower than 16 lanes. On SwiftShader (4 lanes) onnxruntime-web 1.31.0-dev.20260914's
 * subgroup flash-attention prefill gives wrong attention outputs from about 25 query tokens on
 * (keys in the cache right, logits off by up to 5; measured here); without the feature it takes its
 * other kernels and matches the CPU. NVIDIA's 32-lane subgroups are kept.
 */
import { asGpuDevice, type GpuDevice } from './gpu';

interface AdapterLike {
  features: ReadonlySet<string>;
  limits: Record<string, unknown>;
  info?: { subgroupMinSize?: number; description?: string; isFallbackAdapter?: boolean };
  requestDevice(d: {
    requiredFeatures: string[];
    requiredLimits: Record<string, number>;
  }): Promise<unknown>;
}

export const MIN_SUBGROUP_LANES = 16;

export async function createFastDevice(
  allowSubgroups = true,
): Promise<{ device: GpuDevice; note: string }> {
  const gpu = (
    self.navigator as unknown as {
      gpu?: { requestAdapter(o?: { powerPreference?: string }): Promise<AdapterLike | null> };
    }
  ).gpu;
  const adapter = await gpu?.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('WebGPU: no adapter');
  const lanes = adapter.info?.subgroupMinSize ?? 0;
  const dropSubgroups =
    adapter.features.has('subgroups') && (!allowSubgroups || lanes < MIN_SUBGROUP_LANES);
  const requiredFeatures = [...adapter.features].filter(
    (f) =>
      !(dropSubgroups && f.startsWith('subgroup')) &&
      !f.startsWith('chromium-experimental-sampling'),
  );
  const requiredLimits: Record<string, number> = {};
  for (const key in adapter.limits) {
    const v = adapter.limits[key];
    if (typeof v === 'number') requiredLimits[key] = v;
  }
  const device = asGpuDevice(await adapter.requestDevice({ requiredFeatures, requiredLimits }));
  return {
    device,
    note: dropSubgroups
      ? `subgroups off (${allowSubgroups ? `${lanes}-lane subgroups on this adapter` : 'asked for'})`
      : '',
  };
}
