// Headless Chromium with WebGPU, as the browser tests (test/browser.test.ts) and the browser
// benchmark (bench/browser-infer.bench.ts) launch it through playwright-core: Debian's chromium,
// never a downloaded one (SHRINKRAY_CHROMIUM to point elsewhere).
export const CHROMIUM = process.env.SHRINKRAY_CHROMIUM ?? '/usr/bin/chromium';

/** Flags of every launch: WebGPU on, nothing that reaches the network. */
export const CHROMIUM_FLAGS = ['--no-sandbox', '--enable-unsafe-webgpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];

/** WebGPU at compatibility level on ANGLE's OpenGL ES (Mesa underneath here) instead of SwiftShader's Vulkan. */
export const ANGLE_GLES_FLAGS = ['--use-angle=gles-egl', '--use-webgpu-adapter=opengles'];
