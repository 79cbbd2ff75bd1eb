"""python -m wechat.sandbox --host 127.0.0.1 --port 9100 --app APPID:SECRET
    [--mchid MCHID --merchant-public-key PATH --merchant-serial HEX --apiv3-key KEY
     --platform-public-key-out PATH --notify-time-scale 1 --pay-verify-mode public_key]
    [--official APPID:SECRET:TOKEN[:AESKEY] --official-url URL --official-mode safe]"""
from __future__ import annotations

import argparse
import logging

from werkzeug.serving import make_server

from wechat.sandbox.app import DEMO_APPID, DEMO_SECRET, create_app
from wechat.sandbox.official.state import MODES, OfficialAccount, OfficialSandbox
from wechat.sandbox.pay.models import Merchant
from wechat.sandbox.pay.state import VERIFY_MODES, PaySandbox
from wechat.sandbox.server import QuietRequestHandler
from wechat.sandbox.state import SandboxState


def _app_pair(text: str) -> tuple[str, str]:
    appid, sep, secret = text.partition(":")
    if not sep or not appid or not secret:
        raise argparse.ArgumentTypeError("expected APPID:SECRET")
    return appid, secret


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wechat.sandbox",
        description="Local imitation of WeChat's mini-program servers and WeChat Pay APIv3.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--app", type=_app_pair, action="append", metavar="APPID:SECRET",
                        help="an app the sandbox knows (repeatable); default: a demo app")
    parser.add_argument("--token-ttl", type=int, default=7200)
    pay = parser.add_argument_group("WeChat Pay APIv3 (all four merchant flags, or none)")
    pay.add_argument("--mchid")
    pay.add_argument("--merchant-public-key", metavar="PATH",
                     help="the merchant's public key, API certificate or private key PEM")
    pay.add_argument("--merchant-serial", help="the merchant API certificate serial (hex)")
    pay.add_argument("--apiv3-key", help="the merchant's 32-byte APIv3 key")
    pay.add_argument("--pay-appid", action="append", metavar="APPID",
                     help="appids bound to the merchant (default: every --app)")
    pay.add_argument("--pay-verify-mode", choices=VERIFY_MODES, default="public_key")
    pay.add_argument("--notify-time-scale", type=float, default=1.0,
                     help="multiplies WeChat's notification retry schedule")
    pay.add_argument("--allow-http-loopback-notify", action="store_true",
                     help="accept http:// notify URLs on 127.0.0.1/localhost (WeChat "
                          "accepts only https)")
    pay.add_argument("--platform-public-key-out", metavar="PATH",
                     help="write the generated platform public key PEM here")
    oa = parser.add_argument_group("official account")
    oa.add_argument("--official", type=_official, metavar="APPID:SECRET:TOKEN[:AESKEY]",
                    help="an official account (its users share unionids with every --app)")
    oa.add_argument("--official-url", metavar="URL",
                    help="its server URL, where messages are pushed (…/wechat/official)")
    oa.add_argument("--official-mode", choices=MODES, default=None,
                    help="message mode (default: safe with an AES key, else plain)")
    return parser


def _official(text: str) -> tuple[str, ...]:
    parts = text.split(":")
    if len(parts) not in (3, 4) or not all(parts):
        raise argparse.ArgumentTypeError("expected APPID:SECRET:TOKEN[:AESKEY]")
    return tuple(parts)


def build_state(args: argparse.Namespace) -> SandboxState:
    apps = dict(args.app) if args.app else {DEMO_APPID: DEMO_SECRET}
    merchant_flags = (args.mchid, args.merchant_public_key, args.merchant_serial, args.apiv3_key)
    if any(merchant_flags) and not all(merchant_flags):
        raise SystemExit("--mchid, --merchant-public-key, --merchant-serial and --apiv3-key "
                         "go together")
    pay = PaySandbox(verify_mode=args.pay_verify_mode,
                     allow_http_loopback_notify=args.allow_http_loopback_notify,
                     notify_time_scale=args.notify_time_scale)
    if args.mchid:
        with open(args.merchant_public_key, encoding="ascii") as f:
            pem = f.read()
        pay.add_merchant(args.mchid, Merchant(appids=args.pay_appid or list(apps),
                                              merchant_serial=args.merchant_serial,
                                              merchant_public_key_pem=pem,
                                              apiv3_key=args.apiv3_key))
    if args.platform_public_key_out:
        pay.write_platform_public_key(args.platform_public_key_out)
    official = OfficialSandbox()
    if args.official:
        appid, secret, token, *aes = args.official
        apps[appid] = secret
        official.unionid_apps.update(apps)  # one Open Platform account binds them all
        official.add_account(OfficialAccount(
            appid, token, aes[0] if aes else None, server_url=args.official_url,
            mode=args.official_mode or ("safe" if aes else "plain")))
    return SandboxState(apps=apps, token_ttl=args.token_ttl, pay=pay, official=official)


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    state = build_state(args)
    apps = state.apps
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("wechat.sandbox.server").setLevel(logging.DEBUG)
    server = make_server(args.host, args.port, create_app(state), threaded=True,
                         request_handler=QuietRequestHandler)
    print(f"WeChat sandbox on http://{args.host}:{server.server_port} "
          f"(apps: {', '.join(apps)}; try GET /_/config)", flush=True)
    if state.pay.merchants:
        print(f"WeChat Pay merchants: {', '.join(state.pay.merchants)}; platform public key id "
              f"{state.pay.public_key_id}"
              + (f", PEM in {args.platform_public_key_out}" if args.platform_public_key_out
                 else " (PEM at GET /_/pay/config)"), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
