# Sourced by scripts/dev and scripts/test: make .venv from requirements.txt when it is
# missing or older than requirements.txt, then use it.
venv=.venv
if [ ! -x "$venv/bin/python" ] || [ requirements.txt -nt "$venv/.installed" ]; then
  echo "Installing dependencies into $venv (first run only; log in $venv/install.log) ..." >&2
  python3 -m venv "$venv"
  if ! { "$venv/bin/pip" install --upgrade pip && "$venv/bin/pip" install -r requirements.txt; } \
      >"$venv/install.log" 2>&1; then
    tail -n 30 "$venv/install.log" >&2
    echo "pip install failed; see $venv/install.log" >&2
    exit 1
  fi
  touch "$venv/.installed"
fi
export PATH="$PWD/$venv/bin:$PATH"
