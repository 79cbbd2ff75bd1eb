"""快递100's endpoints (`/poll`, `/poll/query.do`: form posts, JSON answers) and the
`_/kuaidi100/` endpoints that play the carrier.

| request | answer |
| --- | --- |
| `POST /_/kuaidi100/push {"number", "state"?, "context"?, "area"?, "at"?: unix s, "status"?, "message"?, "com_new"?, "auto_check"?, "duplicates"?: 0–20, "forge"?, "tamper"?, "hold"?, "send"?: true}` | with `state`, a new trace node first; then a push of the whole trace: sent (plus `duplicates` copies), held back (`hold`: `{"held": id}`, for reordering), or only built (`send: false`); `forge` signs with a wrong salt, `tamper` changes the param after signing |
| `POST /_/kuaidi100/release {"held"}` | sends a held push now |
| `GET /_/kuaidi100/subscriptions` | `{"subscriptions": [{company, number, callbackurl, salt, status, state, pushes, events, …}]}` |
| `GET /_/kuaidi100/deliveries` · `GET /_/kuaidi100/queries` | pushes sent and what our server answered · real-time queries asked |
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from wechat.sandbox.common import json_response


def register(bp: Blueprint, state) -> None:
    k100 = state.kuaidi100

    def _failure(rule: str):
        failure = state.take_failure(rule)
        if failure and "http_status" in failure:
            return json_response({"message": "injected"}, failure["http_status"])
        if failure and "return_code" in failure:
            return json_response({"result": False, "returnCode": str(failure["return_code"]),
                                  "message": failure.get("message", "injected failure")})
        return None

    def poll():
        failed = _failure("/poll")
        if failed is not None:
            return failed
        answer = k100.subscribe(request.form.to_dict())
        state.record("calls", {"path": "/poll", "errcode": None, "http_status": 200,
                               "return_code": answer["returnCode"]})
        return json_response(answer)

    def query():
        failed = _failure("/poll/query.do")
        if failed is not None:
            return failed
        answer = k100.query(request.form.to_dict())
        state.record("calls", {"path": "/poll/query.do", "errcode": None, "http_status": 200,
                               "return_code": answer.get("returnCode", "200")})
        return json_response(answer)

    def push():
        body = request.get_json(silent=True) or {}
        number = body.get("number")
        if not isinstance(number, str) or number not in k100.subs:
            return jsonify({"error": "unknown number: subscribe it first"}), 404
        duplicates = body.get("duplicates", 0)
        if not isinstance(duplicates, int) or not 0 <= duplicates <= 20:
            return jsonify({"error": "duplicates: 0–20"}), 400
        node = None
        if body.get("state") is not None:
            if not isinstance(body["state"], int):
                return jsonify({"error": "state: an integer (§10.2)"}), 400
            node = k100.add_event(number, state=body["state"], context=body.get("context"), at=body.get("at"),
                                  area=body.get("area"))
        built = k100.build_push(number, status=body.get("status"), message=body.get("message", ""),
                                forge=bool(body.get("forge")), tamper=bool(body.get("tamper")),
                                com_new=body.get("com_new"), auto_check=body.get("auto_check"))
        out = {"node": node, "push": built}
        if body.get("hold"):
            out["held"] = k100.hold(built)
        elif body.get("send", True):
            out["deliveries"] = [k100.send(built) for _ in range(1 + duplicates)]
        return jsonify(out)

    def release():
        body = request.get_json(silent=True) or {}
        sent = k100.release(str(body.get("held")))
        if sent is None:
            return jsonify({"error": "no such held push"}), 404
        return jsonify({"delivery": sent})

    bp.add_url_rule("/poll", "kuaidi100_poll", poll, methods=["POST"])
    bp.add_url_rule("/poll/query.do", "kuaidi100_query", query, methods=["POST"])
    bp.add_url_rule("/_/kuaidi100/push", "kuaidi100_push", push, methods=["POST"])
    bp.add_url_rule("/_/kuaidi100/release", "kuaidi100_release", release, methods=["POST"])
    bp.add_url_rule("/_/kuaidi100/subscriptions", "kuaidi100_subscriptions",
                    lambda: jsonify({"subscriptions": k100.subscriptions()}))
    bp.add_url_rule("/_/kuaidi100/deliveries", "kuaidi100_deliveries",
                    lambda: jsonify({"deliveries": list(k100.deliveries)}))
    bp.add_url_rule("/_/kuaidi100/queries", "kuaidi100_queries", lambda: jsonify({"queries": list(k100.queries)}))
