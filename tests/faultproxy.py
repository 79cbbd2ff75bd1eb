"""A fault-injecting TCP proxy for tests: put it between the app and MariaDB or Redis and
make the dependency hang, crawl or hang up — without touching the shared servers.

Modes (switch at any time, they apply to open connections too):
- `pass`:   bytes flow both ways.
- `freeze`: connections are accepted, nothing flows: what a server stopped with SIGSTOP
            (or lost behind a black-holing network) looks like. Bytes already sent wait
            in the proxy and flow again when the mode changes back, as they would when the
            stopped server resumes.
- `slow`:   every chunk waits `delay_s` before it is passed on.
- `drop`:   every open connection is closed, and each new one as soon as it is accepted.

(Toxiproxy does the same as a separate Go server to install and drive over HTTP; a test
needs only these four modes, so they are a hundred lines of threads here.)
"""
from __future__ import annotations

import socket
import threading
import time


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.mode, self.delay_s = "pass", 0.0
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = False
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        threading.Thread(target=self._accept, name=f"fault-proxy:{self.port}", daemon=True).start()

    # --- modes ----------------------------------------------------------------------------

    def passthrough(self) -> None:
        self.mode, self.delay_s = "pass", 0.0
        self._flowing.set()

    def freeze(self) -> None:
        self.mode = "freeze"
        self._flowing.clear()

    def slow(self, delay_s: float) -> None:
        self.mode, self.delay_s = "slow", delay_s
        self._flowing.set()

    def drop(self) -> None:
        self.mode = "drop"
        self._flowing.set()
        with self._lock:
            pairs, self._pairs = list(self._pairs), set()
        for pair in pairs:
            _close(*pair)

    def close(self) -> None:
        self._closed = True
        self.drop()
        self._listener.close()

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    # --- plumbing -------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            if self.mode == "drop":
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
            for src, dst in (pair, pair[::-1]):
                threading.Thread(target=self._pump, args=(src, dst, pair), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, pair) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while not self._flowing.wait(0.1):  # frozen: hold the bytes
                    if self._closed:
                        return
                if self.mode == "slow":
                    time.sleep(self.delay_s)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._pairs.discard(pair)
            _close(*pair)


def _close(*socks: socket.socket) -> None:
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
