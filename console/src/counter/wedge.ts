// A hardware scanner is a keyboard: it types the code and presses Enter. The counter's
// code box takes that itself; when the focus is anywhere else on the page, this collects
// the keys and hands over the text at Enter. The counter page has no other text input,
// so a key typed elsewhere can only be meant for the code.
export interface Wedge {
  /** Feed a keydown; true when it was taken (the caller prevents its default). */
  key(event: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey'>, now?: number): boolean
  reset(): void
}

export function createWedge(onScan: (text: string) => void, idleMs = 1500): Wedge {
  let buffer = ''
  let last = 0
  return {
    key(event, now = Date.now()) {
      if (event.ctrlKey || event.metaKey || event.altKey) return false
      if (buffer && now - last > idleMs) buffer = '' // a pause: start over
      last = now
      if (event.key === 'Enter') {
        if (!buffer) return false
        const text = buffer
        buffer = ''
        onScan(text)
        return true
      }
      if (event.key === 'Escape') {
        const had = buffer !== ''
        buffer = ''
        return had
      }
      if (event.key.length === 1 && event.key >= ' ' && buffer.length < 256) {
        buffer += event.key
        return true
      }
      return false
    },
    reset() {
      buffer = ''
    },
  }
}
