// The fallback decoder (lazy chunk): barcode-detector's ponyfill over zxing-wasm.
import { BarcodeDetector, prepareZXingModule } from 'barcode-detector/ponyfill'
import wasmUrl from 'zxing-wasm/reader/zxing_reader.wasm?url'
import type { Detector } from './detector'

let prepared = false

export function createZxingDetector(): Detector {
  if (!prepared) {
    prepareZXingModule({
      overrides: {
        locateFile: (path: string, prefix: string) => (path.endsWith('.wasm') ? wasmUrl : prefix + path),
      },
    })
    prepared = true
  }
  return new BarcodeDetector({ formats: ['qr_code'] }) as unknown as Detector
}
