/** shrinkray devices: which WebGPU adapters exist here and which one shrinkray uses. */
import { createDevice } from '../../gpu/create-device.js';
import { formatDescription } from '../../gpu/describe.js';
import { BACKENDS } from '../../gpu/backend.js';
import { vulkanDriversListed } from '../../gpu/dawn.js';
import type { Command } from '../command.js';
import { backendOf } from '../command.js';

export const devices: Command = {
  name: 'devices',
  summary: 'list the WebGPU adapters found and the one shrinkray uses',
  usage: 'shrinkray devices',
  options: {},
  async run(ctx) {
    const { out } = ctx;
    const found: Record<string, unknown>[] = [];
    for (const backend of BACKENDS.filter((b) => b !== 'auto')) {
      if (backend === 'hardware' && !vulkanDriversListed()) {
        // Probing without a driver only makes the Vulkan loader print warnings.
        out.log('  hardware: not available (no Vulkan driver installed: no icd.d manifest)');
        found.push({ backend, available: false, reason: 'no Vulkan driver installed (no icd.d manifest)' });
        continue;
      }
      try {
        const d = await createDevice({ backend });
        out.log(`  ${formatDescription(d.describe())}`);
        found.push({ ...d.describe(), available: true });
        d.destroy();
      } catch (e) {
        out.log(`  ${backend}: not available (${(e as Error).message.split('. ')[0]})`);
        found.push({ backend, available: false, reason: (e as Error).message });
      }
    }
    const used = await createDevice({ backend: backendOf(ctx.values) ?? 'auto' });
    out.log(`used: ${used.describe().backend}`);
    out.result({ adapters: found, used: used.describe().backend });
    used.destroy();
  },
};
