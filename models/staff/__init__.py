"""Staff: the people who run the stores, and what each may do.

- `tables.py`     the account row (`Staff`) and its store bindings (`staff_stores`)
- `abilities.py`  the one permission table: `Role`, abilities → roles, the store scopes
                  (which stores a role acts for, which it reads), `StoreAccess`
- `principal.py`  `StaffPrincipal`: the signed-in member as their session describes them
- `accounts.py`   passwords (argon2id); create, change and list staff
- `login.py`      staff login: failure limits per account and address, the last-login stamp

Import from these modules; this package exports nothing.
"""
