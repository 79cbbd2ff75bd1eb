"""python -m wechat.sandbox --host 127.0.0.1 --port 9100 --app APPID:SECRET"""
from __future__ import annotations

import argparse
import logging

from werkzeug.serving import make_server

from wechat.sandbox import DEMO_APPID, DEMO_SECRET, create_app
from wechat.sandbox.server import QuietRequestHandler
from wechat.sandbox.state import SandboxState


def _app_pair(text: str) -> tuple[str, str]:
    appid, sep, secret = text.partition(":")
    if not sep or not appid or not secret:
        raise argparse.ArgumentTypeError("expected APPID:SECRET")
    return appid, secret


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m wechat.sandbox",
        description="Local imitation of WeChat's mini-program servers.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--app", type=_app_pair, action="append", metavar="APPID:SECRET",
                        help="an app the sandbox knows (repeatable); default: a demo app")
    parser.add_argument("--token-ttl", type=int, default=7200)
    args = parser.parse_args(argv)

    apps = dict(args.app) if args.app else {DEMO_APPID: DEMO_SECRET}
    state = SandboxState(apps=apps, token_ttl=args.token_ttl)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("wechat.sandbox.server").setLevel(logging.DEBUG)
    server = make_server(args.host, args.port, create_app(state), threaded=True,
                         request_handler=QuietRequestHandler)
    print(f"WeChat sandbox on http://{args.host}:{server.server_port} "
          f"(apps: {', '.join(apps)}; try GET /_/config)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
