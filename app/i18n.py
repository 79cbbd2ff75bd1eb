"""Error messages in the caller's language (`Accept-Language`), through Flask-Babel.

Only `app/errors.py` translates: every message is written in English where it is raised,
and that English text is the msgid of the catalog (`translations/<locale>/LC_MESSAGES/
messages.po`). English is the default — for a request without `Accept-Language`, for one
that names no language we have, and for any msgid the catalog does not have; any `zh*`
(`zh-CN`, `zh-Hans`, `zh-TW`, `zh;q=0.5` after an unknown `fr`) gets Chinese.

A message with dynamic parts is a template with named `{placeholders}`: the raise site
passes the values (`InvalidRequest("At most {limit} cards per batch.", params={...})`);
the template is translated, then formatted. Validation messages come from marshmallow
already formatted ("Must be greater than or equal to 1."), so those are matched back to
their template (see `_patterns`).

The catalogs are read from the .po files and compiled in memory the first time a locale
is asked for (what `pybabel compile` would write to a .mo, a few milliseconds once per
process): no compiled file to keep in step with its source, nothing to build before
`scripts/dev` or `scripts/test`. `scripts/i18n` updates the catalog from the code.
"""
from __future__ import annotations

import re
import string
import threading
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, has_request_context, request
from flask_babel import Babel, Domain

CATALOG_DIR = Path(__file__).resolve().parent.parent / "translations"
DOMAIN_NAME = "messages"
DEFAULT = "en"
# The languages we answer in → what Content-Language says for them.
CONTENT_LANGUAGE = {"en": "en", "zh": "zh-CN"}


def _select_locale() -> str:
    if not has_request_context():
        return DEFAULT
    # werkzeug matches a primary tag too: "zh-CN" and "zh-TW" both take "zh".
    return request.accept_languages.best_match(list(CONTENT_LANGUAGE), default=DEFAULT)


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=_select_locale, default_locale=DEFAULT,
          default_translation_directories=str(CATALOG_DIR), configure_jinja=False)


def po_path(locale: str) -> Path:
    return CATALOG_DIR / locale / "LC_MESSAGES" / f"{DOMAIN_NAME}.po"


class _Catalog:
    """One locale's translations (compiled from its .po) and its templates' patterns."""

    def __init__(self, locale: str):
        path = po_path(locale)
        if not path.is_file():
            self.translations, self.patterns = NullTranslations(), []
            return
        with path.open("rb") as f:
            catalog = read_po(f, locale=locale, domain=DOMAIN_NAME)
        buf = BytesIO()
        write_mo(buf, catalog)  # fuzzy entries are left out, as pybabel compile does
        buf.seek(0)
        self.translations = Translations(buf, domain=DOMAIN_NAME)
        self.patterns = _patterns(m.id for m in catalog if m.id and m.string and not m.fuzzy)


_catalogs: dict[str, _Catalog] = {}
_catalogs_lock = threading.Lock()


def catalog(locale: str) -> _Catalog:
    found = _catalogs.get(locale)
    if found is None:
        with _catalogs_lock:
            found = _catalogs.get(locale) or _catalogs.setdefault(locale, _Catalog(locale))
    return found


class _PoDomain(Domain):
    """Flask-Babel's domain, with its catalogs from the .po files (above), not .mo files."""

    def get_translations(self):
        return catalog(current_locale()).translations


DOMAIN = _PoDomain(translation_directories=[str(CATALOG_DIR)], domain=DOMAIN_NAME)


def current_locale() -> str:
    """The request's language ("en", "zh"). Chosen once per request, and kept on the
    request: Flask-Babel's get_locale() keeps its choice on `g`, which belongs to the app
    context — one per request in production, but shared by every request made while an
    app context is already pushed (a test's, a CLI command's), where it would answer a
    later request in an earlier one's language."""
    if not has_request_context():
        return DEFAULT
    chosen = request.environ.get("tihuo.locale")
    if chosen is None:
        chosen = request.environ["tihuo.locale"] = _select_locale()
    return chosen


def content_language() -> str:
    return CONTENT_LANGUAGE.get(current_locale(), DEFAULT)


def translate(msgid: str, params: dict | None = None) -> str:
    """`msgid` in the request's language, its `{placeholders}` filled from `params`."""
    if current_locale() == DEFAULT:
        return msgid.format(**params) if params else msgid
    text = DOMAIN.gettext(msgid)
    try:
        return text.format(**params) if params else text
    except (KeyError, IndexError, ValueError):  # a translation naming another placeholder
        return msgid.format(**params)  # (tests/app/test_i18n.py checks they never do)


def translate_formatted(message: str) -> str:
    """A message someone else already formatted (marshmallow, webargs, a werkzeug status
    name): its translation when it is a msgid, else the translation of the template it
    was formatted from, with the same values; else the message unchanged."""
    if current_locale() == DEFAULT:
        return message
    found = catalog(current_locale())
    text = found.translations.gettext(message)
    if text != message:
        return text
    for pattern, msgid in found.patterns:
        match = pattern.fullmatch(message)
        if match:
            return _fill(found.translations.gettext(msgid), match.groupdict())
    return message


def translate_messages(messages):
    """translate_formatted over marshmallow's nesting of messages: {field: [msg, ...]},
    {index: {field: [...]}}, ... (keys are field names and indexes: kept)."""
    if isinstance(messages, str):
        return translate_formatted(messages)
    if isinstance(messages, dict):
        return {k: translate_messages(v) for k, v in messages.items()}
    if isinstance(messages, (list, tuple)):
        return [translate_messages(v) for v in messages]
    return messages


# Validation messages: marshmallow formats its templates before we see them ("Must be
# greater than or equal to {min}." → "... to 1."), so the catalog holds the templates and
# a formatted message is matched back to its template by a pattern made from it — each
# {placeholder} any text, the rest literal — and the translated template is filled with
# the text that matched. This keeps marshmallow as it is (its templates, its formatting),
# and the one place that translates is still app/errors.py. A template that is nothing
# but placeholders would match anything: it gets no pattern. The longest literal text is
# tried first, so the most specific template wins.
_FORMATTER = string.Formatter()


def _patterns(msgids) -> list[tuple[re.Pattern, str]]:
    out = []
    for msgid in msgids:
        parts = list(_FORMATTER.parse(msgid))
        if not any(name for _, name, _, _ in parts) or not "".join(lit for lit, *_ in parts).strip():
            continue
        regex, seen = [], set()
        for literal, name, _spec, _conv in parts:
            regex.append(re.escape(literal))
            if name is None:
                continue
            regex.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
            seen.add(name)
        literal_len = sum(len(lit) for lit, *_ in parts)
        out.append((re.compile("".join(regex), re.DOTALL), msgid, literal_len))
    out.sort(key=lambda p: -p[2])
    return [(p, m) for p, m, _ in out]


def _fill(template: str, values: dict) -> str:
    # The values are text as it was formatted into the English message (a repr already
    # applied, a format spec already used): put back as they are, not formatted again.
    out = []
    for literal, name, _spec, _conv in _FORMATTER.parse(template):
        out.append(literal)
        if name is not None:
            out.append(values.get(name, ""))
    return "".join(out)
