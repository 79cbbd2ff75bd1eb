#!/usr/bin/env bash
# A three-node MariaDB Galera cluster on loopback (SQL 3401-3403): start|stop|status|kill N|restart N.
# See scripts/cluster/galera.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
py=${PYTHON:-.venv/bin/python}
[ -x "$py" ] || py=/work/main/.venv/bin/python
exec "$py" scripts/cluster/galera.py "$@"
