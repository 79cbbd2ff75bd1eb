// The growth page's create dialogs (an invitation campaign, a level, a segment, a campaign)
// all send a form the same way: checked here first (the fields at fault named under
// growth.invalid), sent once at a time, the dialog closed on success, a refusal shown in it.
import type { Ref } from 'vue'
import { failure } from './failure'

type T = (key: string, values?: Record<string, unknown>) => string

export interface Dialog {
  open: Ref<boolean>
  busy: Ref<boolean>
  error: Ref<string | null>
}

export async function submitDialog<R>(dialog: Dialog, t: T,
  checked: { body?: Record<string, unknown>; problems: string[] },
  send: (body: Record<string, unknown>) => Promise<R>, done: (answer: R) => unknown): Promise<void> {
  if (!checked.body) {
    dialog.error.value = checked.problems.map((p) => t(`growth.invalid.${p}`)).join('；')
    return
  }
  dialog.busy.value = true
  dialog.error.value = null
  try {
    const answer = await send(checked.body)
    dialog.open.value = false
    await done(answer)
  } catch (e) {
    dialog.error.value = failure(e, t)
  } finally {
    dialog.busy.value = false
  }
}
