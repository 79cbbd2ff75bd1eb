"""handlers.schemas.Schema dumps exactly as marshmallow does (it only plans the walk)."""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace as Obj

import apiflask
import pytest
from apiflask import fields
from sqlalchemy import literal, select

from app.extensions import db
from handlers.order_schemas import EventOut, ItemOut, OrderDetail
from handlers.schemas import Schema


def twins(shape) -> tuple[Schema, apiflask.Schema]:
    """The same fields on our base and on marshmallow's own (nested schemas too)."""
    return tuple(type(base.__name__, (base,), shape(base))() for base in (Schema, apiflask.Schema))


def item_of(base):
    return type("Item", (base,), {"sku_id": fields.Integer(), "name": fields.String()})


def _method(self, obj):
    return f"m:{obj.get('n') if isinstance(obj, dict) else getattr(obj, 'n', None)}"


SHAPES = {
    "plain": lambda b: {"n": fields.Integer(), "s": fields.String(allow_none=True), "at": fields.DateTime()},
    "renamed": lambda b: {"n": fields.Integer(data_key="number"), "s": fields.String(attribute="other")},
    "defaults": lambda b: {"n": fields.Integer(dump_default=7), "f": fields.Float(dump_default=lambda: 1.5)},
    "computed": lambda b: {"f": fields.Function(lambda o: "fn"), "m": fields.Method("_m"), "_m": _method},
    "nested": lambda b: {"items": fields.Nested(item_of(b), many=True),
                         "one": fields.Nested(item_of(b), allow_none=True)},
    "dotted": lambda b: {"deep": fields.Integer(attribute="inner.n")},
    "pluck": lambda b: {"names": fields.Pluck(item_of(b), "name", many=True)},
}

AT = datetime(2026, 11, 22, 12, 30, 5, 123456)
OBJECTS = [
    Obj(n=1, s="x", other="o", at=AT, items=[Obj(sku_id=3, name="a")], one=None, inner=Obj(n=9),
        names=[Obj(sku_id=1, name="p")], f=None),
    Obj(s=None, at=AT),                                   # attributes missing: skipped or defaulted
    {"n": 2, "s": "d", "at": AT, "items": [{"sku_id": 4, "name": "b"}], "one": {"sku_id": 5, "name": "c"},
     "inner": {"n": 1}, "names": []},
    {"s": None},                     # keys missing (and "items" is the dict's method: both refuse it)
    {"other": 3, "items": []},
]


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("obj", range(len(OBJECTS)))
def test_a_dump_is_marshmallows(shape, obj):
    ours, theirs = twins(SHAPES[shape])
    source = OBJECTS[obj]
    assert outcome(ours.dump, source) == outcome(theirs.dump, source)
    assert outcome(ours.dump, [source, source], many=True) == outcome(theirs.dump, [source, source], many=True)


def outcome(fn, *args, **kwargs):
    try:
        return "dumped", fn(*args, **kwargs)
    except Exception as e:
        return "raised", type(e)


def test_rows_are_read_by_key_as_marshmallow_reads_them(ctx):
    ours, theirs = twins(lambda b: {"a": fields.Integer(), "b": fields.String(), "c": fields.Integer()})
    row = db.session.execute(select(literal(5).label("a"), literal("z").label("b"))).one()
    assert ours.dump(row) == theirs.dump(row) == {"a": 5, "b": "z"}


def test_an_order_answer_is_marshmallows():
    items = [Obj(sku_id=1, name="月饼", spec="6 枚", qty=2, price_fen=8800, picked_up_qty=0)]
    events = [Obj(at=AT, from_status=None, to_status="pending_payment", actor_type="user", reason="placed")]
    order = Obj(order_no="TH1", status="pending_payment", fulfillment="pickup", store_id=1, items=items,
                total_fen=17600, payable_fen=17600, source="shop", remark=None, created_at=AT,
                pay_deadline=AT, paid_at=None, ready_at=None, pickup_deadline=None, picked_up_at=None,
                shipped_at=None, carrier=None, tracking_no=None, delivered_at=None, completed_at=None,
                cancelled_at=None, cancel_reason=None, events=events, address_enc=None,
                outcome_changed=True)
    ours, theirs = twins(lambda b: {**OrderDetail._declared_fields,
                                     "items": fields.Nested(type("ItemOut", (b,), dict(ItemOut._declared_fields)), many=True),
                                     "events": fields.Nested(type("EventOut", (b,), dict(EventOut._declared_fields)), many=True)})
    assert ours.dump(order) == theirs.dump(order)
    assert ours.dump(order)["items"][0]["name"] == "月饼" and ours.dump(order)["changed"] is True
