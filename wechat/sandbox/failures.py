"""One-shot failure injection (`/_/fail-next`, `/_/pay/fail-next`), shared by both sides
of the sandbox. The host class provides `self._lock` and a `self._failures` list."""
from __future__ import annotations


class InjectedFailures:
    def add_failure(self, spec: dict) -> int:
        with self._lock:
            self._failures.append(dict(spec))
            return len(self._failures)

    def take_failure(self, path: str) -> dict | None:
        """The first failure queued for `path`, removed (each fires once)."""
        with self._lock:
            for i, spec in enumerate(self._failures):
                if spec["path"] == path:
                    return self._failures.pop(i)
            return None
