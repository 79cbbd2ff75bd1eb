"""The messages an error answer can carry, found in the code, and the catalog kept in step.

    scripts/i18n            update translations/*/LC_MESSAGES/messages.po: new messages
                            added untranslated (or fuzzy, with a near one's translation to
                            start from), gone ones dropped; then translate what it lists
    scripts/i18n --check    exit 1 when a catalog misses a message, keeps a gone one, or
                            has an entry untranslated or fuzzy (tests/app/test_i18n.py too)

Raise sites stay plain English (`raise NotFound("No such store.")`): no `_()` to mark
them, so this reads the code the way app/errors.py will see it —
- every `AppError` subclass's `message` (classes found by their bases, across files);
- the message given to one: `NotFound("...")`, `RateLimited(60, "...")`, `message=`, a
  module constant (`Unauthorized(INVALID)`, imported or not), either side of `a if c else
  b`; and to the helpers that pass one on (`CALLS` below);
- `error="..."` and `error_messages={...}` in handlers/ (validators' and fields' own);
- what the libraries say: marshmallow's validation templates (Range's spelled out, the
  date/time ones per type), webargs' and APIFlask's, werkzeug's 4xx status names.
An f-string message cannot be a msgid: it is reported (turn it into a template with
`params=`).
"""
from __future__ import annotations

import ast
import inspect
import string
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "models", "handlers")
# Calls that take a message to answer with, and which argument it is (besides every
# AppError subclass, whose first argument it is).
CALLS = {"RateLimited": 1, "ValidationError": 0, "_flush_unique": 0, "pay_failure": 2,
         "get_or_404": 2, "_body": 2}
_FMT = string.Formatter()


def _name(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


class _Module:
    def __init__(self, path: Path):
        self.path = path
        self.rel = path.relative_to(ROOT).as_posix()
        self.name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        self.tree = ast.parse(path.read_text(), str(path))
        self.constants: dict[str, str] = {}
        self.imports: dict[str, tuple[str, str]] = {}  # local name → (module, name)
        self.classes: dict[str, ast.ClassDef] = {}
        for node in self.tree.body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str)):
                self.constants[node.targets[0].id] = node.value.value
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = (node.module, alias.name)
            elif isinstance(node, ast.ClassDef):
                self.classes[node.name] = node


class Extraction:
    def __init__(self):
        self.messages: dict[str, set[str]] = defaultdict(set)  # msgid → where
        self.comments: dict[str, set[str]] = defaultdict(set)  # msgid → library origin
        self.dynamic: list[str] = []                           # f-string messages


def _modules() -> dict[str, _Module]:
    mods = [_Module(p) for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    return {m.name: m for m in mods}


def _error_classes(mods: dict[str, _Module]) -> set[str]:
    names, grew = {"AppError"}, True
    while grew:
        grew = False
        for mod in mods.values():
            for cls in mod.classes.values():
                if cls.name not in names and any(_name(b) in names for b in cls.bases):
                    names.add(cls.name)
                    grew = True
    return names


def _strings(node, mod: _Module, mods: dict[str, _Module], out: Extraction, where: str) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        out.dynamic.append(f"{where}: {ast.unparse(node)}")
        return []
    if isinstance(node, ast.IfExp):
        return (_strings(node.body, mod, mods, out, where)
                + _strings(node.orelse, mod, mods, out, where))
    if isinstance(node, ast.BoolOp):
        return [s for v in node.values for s in _strings(v, mod, mods, out, where)]
    if isinstance(node, ast.Name):
        if node.id in mod.constants:
            return [mod.constants[node.id]]
        source = mod.imports.get(node.id)
        if source and source[0] in mods and source[1] in mods[source[0]].constants:
            return [mods[source[0]].constants[source[1]]]
    return []  # a parameter passed on (its callers are read instead)


def source_messages(out: Extraction) -> None:
    mods = _modules()
    errors = _error_classes(mods)
    for mod in mods.values():
        for node in ast.walk(mod.tree):
            where = mod.rel
            if isinstance(node, ast.ClassDef) and node.name in errors:
                for stmt in node.body:
                    if not isinstance(stmt, ast.Assign):
                        continue
                    for target in stmt.targets:
                        if isinstance(target, ast.Name) and target.id == "message":
                            value = stmt.value
                        elif (isinstance(target, ast.Tuple) and isinstance(stmt.value, ast.Tuple)
                              and "message" in [_name(e) for e in target.elts]):
                            value = stmt.value.elts[[_name(e) for e in target.elts].index("message")]
                        else:
                            continue
                        for s in _strings(value, mod, mods, out, where):
                            out.messages[s].add(where)
            if not isinstance(node, ast.Call):
                continue
            args = []
            name = _name(node.func)
            if name in CALLS or name in errors:
                index = CALLS.get(name, 0)
                if len(node.args) > index:
                    args.append(node.args[index])
                args += [k.value for k in node.keywords if k.arg == "message"]
            for k in node.keywords if mod.name.startswith("handlers") else ():
                if k.arg == "error":
                    args.append(k.value)
                elif k.arg == "error_messages" and isinstance(k.value, ast.Dict):
                    args += k.value.values
            for arg in args:
                for s in _strings(arg, mod, mods, out, where):
                    out.messages[s].add(where)


def _partial(template: str, **values: str) -> str:
    """`template` with the named placeholders filled, the others kept as written."""
    out = []
    for literal, name, spec, conv in _FMT.parse(template):
        out.append(literal.replace("{", "{{").replace("}", "}}"))
        if name is None:
            continue
        if name in values:
            out.append(values[name])
        else:
            out.append("{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}")
    return "".join(out)


def library_messages(out: Extraction) -> None:
    import apiflask.settings
    from marshmallow import Schema, fields, validate
    from werkzeug.http import HTTP_STATUS_CODES

    def add(message: str, origin: str) -> None:
        out.messages[message].add("")
        out.comments[message].add(origin)

    for name, cls in sorted(vars(fields).items()):
        if not (inspect.isclass(cls) and issubclass(cls, fields.Field)):
            continue
        obj_type = getattr(cls, "OBJ_TYPE", None)
        for key, message in getattr(cls, "default_error_messages", {}).items():
            if "{obj_type}" in message and not obj_type:
                continue  # an abstract field's template; its subclasses name the type
            if obj_type and "{obj_type}" in message:
                for awareness in (("aware", "naive") if "{awareness}" in message else ("",)):
                    add(_partial(message, obj_type=obj_type, awareness=awareness), f"marshmallow {name}.{key}")
            else:
                add(message, f"marshmallow {name}.{key}")
    for key, message in Schema._default_error_messages.items():
        add(message, f"marshmallow Schema.{key}")
    ops = {"min": (validate.Range.message_gte, validate.Range.message_gt),
           "max": (validate.Range.message_lte, validate.Range.message_lt)}
    for key in ("message_min", "message_max", "message_all"):
        template = getattr(validate.Range, key)
        for min_op in ops["min"]:
            for max_op in ops["max"]:
                add(template.format(min_op=min_op, max_op=max_op), f"marshmallow Range.{key}")
    for name, cls in sorted(vars(validate).items()):
        if inspect.isclass(cls) and issubclass(cls, validate.Validator) and cls is not validate.Range:
            for key, value in vars(cls).items():
                if isinstance(value, str) and (key.startswith("message") or key == "default_message"):
                    add(value, f"marshmallow {name}.{key}")
    add("Invalid JSON body.", "webargs")
    add(apiflask.settings.VALIDATION_ERROR_DESCRIPTION, "APIFlask")
    for code, phrase in HTTP_STATUS_CODES.items():  # werkzeug's exceptions' names too
        if 400 <= code < 500:
            add(phrase, f"HTTP {code}")


def extract() -> Extraction:
    out = Extraction()
    source_messages(out)
    library_messages(out)
    return out


def template(out: Extraction):
    from babel.messages.catalog import Catalog

    catalog = Catalog(project="Tihuo", domain="messages")
    for msgid in sorted(out.messages):
        placeholders = any(name for _, name, _, _ in _FMT.parse(msgid))
        catalog.add(msgid, locations=[(w, None) for w in sorted(out.messages[msgid]) if w],
                    auto_comments=sorted(out.comments.get(msgid, ())),
                    flags=("python-brace-format",) if placeholders else ())
    return catalog


def problems(locale: str, out: Extraction) -> list[str]:
    """What is wrong with `locale`'s catalog against the code (empty: nothing)."""
    from babel.messages.pofile import read_po

    from app.i18n import po_path

    with po_path(locale).open("rb") as f:
        catalog = read_po(f, locale=locale)
    have = {m.id: m for m in catalog if m.id}
    found = []
    found += [f"missing: {m!r}" for m in sorted(set(out.messages) - set(have))]
    found += [f"no longer used: {m!r}" for m in sorted(set(have) - set(out.messages))]
    for msgid, m in sorted(have.items()):
        if not m.string:
            found.append(f"untranslated: {msgid!r}")
        elif m.fuzzy:
            found.append(f"fuzzy (check, then drop the flag): {msgid!r}")
        else:
            wanted = {name for _, name, _, _ in _FMT.parse(msgid) if name}
            used = {name for _, name, _, _ in _FMT.parse(m.string) if name}
            if used != wanted:
                found.append(f"placeholders {sorted(used)} where the msgid has {sorted(wanted)}: {msgid!r}")
    return found


def locales() -> list[str]:
    from app.i18n import CATALOG_DIR

    return sorted(p.name for p in CATALOG_DIR.iterdir() if (p / "LC_MESSAGES" / "messages.po").is_file())


def update(locale: str, out: Extraction) -> None:
    from babel.messages.pofile import read_po, write_po

    from app.i18n import po_path

    path = po_path(locale)
    with path.open("rb") as f:
        catalog = read_po(f, locale=locale)
    new = template(out)
    new.creation_date = catalog.creation_date  # no date churn when nothing changed
    catalog.update(new)
    with path.open("wb") as f:
        write_po(f, catalog, width=100, include_lineno=False, ignore_obsolete=True,
                 omit_header=False, sort_output=True)


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    out = extract()
    for line in out.dynamic:
        print(f"f-string message (make it a template with params=): {line}", file=sys.stderr)
    bad = False
    for locale in locales():
        if "--check" not in argv:
            update(locale, out)
        for line in problems(locale, out):
            print(f"{locale}: {line}")
            bad = True
    return 1 if bad or out.dynamic else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
