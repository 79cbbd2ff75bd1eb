"""Run the standalone sandbox in a background thread (tests, demos)."""
from __future__ import annotations

import logging
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from wechat.sandbox.app import DEMO_APPID, DEMO_SECRET, create_app
from wechat.sandbox.state import SandboxState

log = logging.getLogger(__name__)


class QuietRequestHandler(WSGIRequestHandler):
    """Logs method, path and status only: WeChat puts `secret`, `js_code` and
    `access_token` in query strings, which werkzeug's default access log would print."""

    def log_request(self, code="-", size="-") -> None:
        log.debug("%s %s %s", self.command, self.path.split("?", 1)[0], code)


class SandboxServer:
    def __init__(self, state: SandboxState, host: str, port: int):
        self.state = state
        self.app = create_app(state)
        self._server = make_server(host, port, self.app, threaded=True,
                                   request_handler=QuietRequestHandler)
        self.base_url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="wechat-sandbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_sandbox_server(state: SandboxState | None = None, host: str = "127.0.0.1",
                         port: int = 0) -> SandboxServer:
    """Serve the sandbox on host:port (0 = any free port); see `.base_url`."""
    return SandboxServer(state or SandboxState(apps={DEMO_APPID: DEMO_SECRET}), host, port)
