// A short two-tone "ok" and a low "no", made with WebAudio (no audio file).
type Ctx = AudioContext
let context: Ctx | null = null

function audio(): Ctx | null {
  const Impl = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext
  if (!Impl) return null
  context ??= new Impl()
  if (context.state === 'suspended') void context.resume()
  return context
}

/** Call from a tap or key press: browsers start audio only after a user gesture. */
export function unlockAudio(): void {
  audio()
}

function tone(ctx: Ctx, frequency: number, start: number, duration: number, volume = 0.2) {
  const osc = ctx.createOscillator()
  const gain = ctx.createGain()
  osc.type = 'sine'
  osc.frequency.value = frequency
  gain.gain.setValueAtTime(0.0001, start)
  gain.gain.exponentialRampToValueAtTime(volume, start + 0.01)
  gain.gain.exponentialRampToValueAtTime(0.0001, start + duration)
  osc.connect(gain).connect(ctx.destination)
  osc.start(start)
  osc.stop(start + duration + 0.02)
}

export function playSuccess(): void {
  const ctx = audio()
  if (!ctx) return
  const t = ctx.currentTime
  tone(ctx, 880, t, 0.12)
  tone(ctx, 1320, t + 0.13, 0.18)
}

export function playError(): void {
  const ctx = audio()
  if (!ctx) return
  tone(ctx, 220, ctx.currentTime, 0.3, 0.25)
}
