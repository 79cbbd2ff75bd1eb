"""The complaint domain's errors (stable codes; messages translated in app/errors.py)."""
from __future__ import annotations

from app.errors import AppError, NotFound


class ComplaintNotFound(NotFound):
    # Also a complaint of a store the staff member is not bound to: they learn nothing of it.
    code, message = "complaint_not_found", "No such complaint."


class ComplaintRefused(AppError):
    status, code, message = (409, "complaint_refused",
                             "WeChat Pay refused this for the complaint ({wechat_code}).")


class NotARefundComplaint(AppError):
    status, code, message = (409, "complaint_not_refund",
                             "Only a complaint asking for a refund has refund progress.")
