/**
 * createDevice: finds an adapter (adapter.ts) and wraps its device in a Device, deciding whether
 * kernels take their CPU versions: by the adapter's name, or by timing when it gives none
 * (runs-like-cpu.ts).
 */
import { openAdapter, type CreateDeviceOptions } from './adapter.js';
import { Device } from './device.js';
import { probeCpu } from './runs-like-cpu.js';

/**
 * Finds an adapter (GPU first, else the fastest CPU adapter) and creates a device with the limits
 * our kernels need, or wraps `options.device`. An adapter that gives no name is timed to tell a
 * CPU from a GPU, once (150 ms on llvmpipe the first time, 72 after; about 500 on SwiftShader).
 */
export async function createDevice(options: CreateDeviceOptions = {}): Promise<Device> {
  let device: Device;
  if (options.device) device = new Device(options.device, null, null, 'external', options);
  else {
    const { gpu, adapter, instance, backend } = await openAdapter(options);
    device = new Device(gpu, adapter, instance, backend, options);
  }
  if (!device.describe().adapterNamed) {
    device.cpuProbe = await probeCpu(device);
    device.cpuFallback = device.cpuProbe.cpu;
  }
  return device;
}
