// A QR detector: the browser's BarcodeDetector when it reads QR codes (Chrome on Android,
// …), else the barcode-detector ponyfill (ZXing-C++ in WebAssembly, the same API) —
// loaded only then, with its .wasm served from this site (never a CDN).
export interface Detector {
  detect(source: ImageBitmapSource | HTMLVideoElement): Promise<{ rawValue: string }[]>
}

interface NativeDetectorClass {
  new (options: { formats: string[] }): Detector
  getSupportedFormats(): Promise<string[]>
}

export async function createDetector(): Promise<Detector> {
  const Native = (globalThis as unknown as { BarcodeDetector?: NativeDetectorClass }).BarcodeDetector
  if (Native) {
    try {
      if ((await Native.getSupportedFormats()).includes('qr_code')) return new Native({ formats: ['qr_code'] })
    } catch {
      // fall through to the ponyfill
    }
  }
  const { createZxingDetector } = await import('./zxing')
  return createZxingDetector()
}
