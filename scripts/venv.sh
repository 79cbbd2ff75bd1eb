# Sourced by scripts/dev and scripts/test with the lock they need:
#   source scripts/venv.sh requirements.txt        scripts/dev: what production runs
#   source scripts/venv.sh requirements-test.txt   scripts/test: the same pins + the test tools
# Makes .venv when it is missing and installs the lock whenever it differs from what was
# last installed from it (a copy is kept in .venv), then puts .venv first on PATH. Both
# locks pin every package (scripts/lock makes them), so this needs no other step.
lock=${1:?which lock: requirements.txt or requirements-test.txt}
venv=.venv
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$lock" "$venv/.installed-$lock"; then
  echo "Installing $lock into $venv (when it changes only; log in $venv/install.log) ..." >&2
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  if ! { "$venv/bin/pip" install --upgrade pip && "$venv/bin/pip" install -r "$lock"; } \
      >"$venv/install.log" 2>&1; then
    tail -n 30 "$venv/install.log" >&2
    echo "pip install failed; see $venv/install.log" >&2
    exit 1
  fi
  cp "$lock" "$venv/.installed-$lock"
fi
export PATH="$PWD/$venv/bin:$PATH"
