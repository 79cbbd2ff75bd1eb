// The staff page's rules, as the API checks them (handlers/admin_staff.py): said before
// sending, so a typo is caught at the form; the server still decides.

export const ROLES = ['admin', 'manager', 'clerk', 'analyst'] as const
export type RoleName = (typeof ROLES)[number]

export const USERNAME = /^[A-Za-z0-9._-]{3,64}$/
export const PASSWORD_MIN = 10
export const PASSWORD_MAX = 256

export interface StaffForm {
  username: string
  password: string
  role: RoleName | ''
  store_ids: number[]
  display_name: string
}

/** i18n keys (under staff.invalid) of what is wrong with a new account's form. */
export function createProblems(form: StaffForm): string[] {
  const problems: string[] = []
  if (!USERNAME.test(form.username.trim())) problems.push('username')
  problems.push(...passwordProblems(form.password))
  if (!form.role) problems.push('role')
  if (form.display_name.length > 64) problems.push('displayName')
  return problems
}

export function passwordProblems(password: string): string[] {
  return password.length < PASSWORD_MIN || password.length > PASSWORD_MAX ? ['password'] : []
}

/** A role bound to stores serves at them: a clerk or manager with none can do nothing. */
export function needsStores(role: string): boolean {
  return role === 'clerk' || role === 'manager'
}

export interface StaffRow { role?: string; store_ids?: number[]; display_name?: string }
export interface StaffEdit { role: string; store_ids: number[]; display_name: string }

/** Only what changed: an unchanged role is not sent (the API refuses any change of your
 * own role, and a sent store list ends the member's sessions only when it differs). */
export function patchFor(row: StaffRow, edit: StaffEdit): Partial<StaffEdit> {
  const patch: Partial<StaffEdit> = {}
  if (edit.role !== row.role) patch.role = edit.role
  const before = [...(row.store_ids ?? [])].sort((a, b) => a - b)
  const after = [...edit.store_ids].sort((a, b) => a - b)
  if (before.join(',') !== after.join(',')) patch.store_ids = after
  if (edit.display_name !== (row.display_name ?? '')) patch.display_name = edit.display_name
  return patch
}
