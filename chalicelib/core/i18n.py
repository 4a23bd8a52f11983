"""Languages: which locale a request is answered in, and the system's translated messages.

Resolution (``resolve_locale``): the ``Accept-Language`` header's tags by their q-values, then the caller's own
preferences (the user's, then the tenant's locale), then ``DEFAULT_LOCALE``. A tag is taken when it names a
supported locale, or its language does (``es-AR`` → ``es-ES``, ``da`` → ``da-DK``, ``en-GB`` → ``en-US``).

Messages are gettext catalogues (``chalicelib/core/locales/<ll_CC>/LC_MESSAGES/btrix.po``, compiled to ``.mo``
by ``make i18n`` with Babel; both are committed, so every bundle carries them). A message id is the English text,
marked in the code with ``N_``; a message is looked up along ``fallback_chain`` (``da-DK`` → ``da`` → ``en-US``)
and, when no catalogue has it, is the English text itself. Catalogues are read with the standard library's
``gettext`` on first use, one per locale and process: nothing is loaded at import (cold start).

An answer whose body a service wrote in the caller's language (status labels, a page) says so: the service calls
``answer_in(locale)`` and the operation wrapper adds ``Content-Language`` and ``Vary: Accept-Language`` (caches
keep one copy per language). Problem answers always carry both.
"""

from __future__ import annotations

import functools
import string
from contextvars import ContextVar, Token
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping
    from gettext import NullTranslations

__all__ = [
    "CATALOGUE_DIR",
    "DEFAULT_LOCALE",
    "DOMAIN",
    "N_",
    "SUPPORTED_LOCALES",
    "answer_in",
    "answered_in",
    "end_answer",
    "fallback_chain",
    "fields_of",
    "match_locale",
    "parse_accept_language",
    "resolve_locale",
    "start_answer",
    "translate",
]

SUPPORTED_LOCALES: tuple[str, ...] = ("pt-BR", "en-US", "es-ES", "da-DK")
# The language of the API itself: what a caller who states no preference (and has no tenant) reads.
DEFAULT_LOCALE = "en-US"
DOMAIN = "btrix"
CATALOGUE_DIR = Path(__file__).parent / "locales"
_MAX_TAGS = 20  # an Accept-Language header longer than this is read up to here
_answer_language: ContextVar[str | None] = ContextVar("btrix_answer_language", default=None)


def start_answer() -> Token[str | None]:
    """A new answer, in no particular language yet (the operation wrapper, around each request)."""
    return _answer_language.set(None)


def end_answer(token: Token[str | None]) -> None:
    """Forget the finished answer's language."""
    _answer_language.reset(token)


def answer_in(locale: str) -> str:
    """Mark this request's answer as written in ``locale`` (``Content-Language``, ``Vary: Accept-Language``);
    returns ``locale``."""
    _answer_language.set(locale)
    return locale


def answered_in() -> str | None:
    """The language this request's answer was marked as written in, if any."""
    return _answer_language.get()


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "marked for translation, not translated here"
    """``message`` unchanged: marks it as a message id for the catalogues (``make i18n`` extracts them)."""
    return message


def parse_accept_language(header: str | None) -> list[str]:
    """The tags of an ``Accept-Language`` header, most wanted first (q-value, then order); ``q=0`` and ``*`` dropped."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:_MAX_TAGS]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and 0 < quality <= 1:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def match_locale(tag: str | None) -> str | None:
    """The supported locale ``tag`` asks for: the same locale, else the supported one of its language; or None."""
    if not tag:
        return None
    wanted = tag.replace("_", "-").strip().lower()
    language = wanted.split("-")[0]
    for supported in SUPPORTED_LOCALES:
        if supported.lower() == wanted:
            return supported
    return next((s for s in SUPPORTED_LOCALES if s.split("-")[0].lower() == language), None)


def resolve_locale(accept_language: str | None, *preferred: str | None) -> str:
    """The locale to answer in: the header's tags, then ``preferred`` (the user's, the tenant's), then the default."""
    for tag in (*parse_accept_language(accept_language), *preferred):
        found = match_locale(tag)
        if found is not None:
            return found
    return DEFAULT_LOCALE


def fallback_chain(locale: str) -> tuple[str, ...]:
    """Where a message of ``locale`` is looked up, in order: ``da-DK`` → ``da`` → ``en-US``."""
    chain = [locale, locale.split("-")[0], DEFAULT_LOCALE]
    return tuple(dict.fromkeys(chain))


def _directory(locale: str) -> Path:
    return CATALOGUE_DIR / locale.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.mo"


@functools.cache
def _translations(locale: str) -> NullTranslations:
    import gettext

    found: NullTranslations = gettext.NullTranslations()
    head: NullTranslations | None = None
    for link in fallback_chain(locale):
        path = _directory(link)
        if not path.is_file():
            continue
        with path.open("rb") as handle:
            catalogue = gettext.GNUTranslations(handle)
        if head is None:
            head = found = catalogue
        else:
            found.add_fallback(catalogue)
            found = catalogue
    return head if head is not None else found


def fields_of(message: str) -> set[str]:
    """The names ``message`` has in braces (``{count} invalid…`` → ``{"count"}``); none when it is no template."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(message) if name}
    except ValueError:
        return set()


def translate(message: str, locale: str | None, params: Mapping[str, Any] | None = None) -> str:
    """``message`` in ``locale`` (English when no catalogue has it), with ``params`` filled in (``{name}``).

    A translation whose fields do not fit ``params`` falls back to the English text filled in, and that to
    the text as it is: rendering an error never fails.
    """
    text = _translations(locale or DEFAULT_LOCALE).gettext(message)
    if params is None:
        return text
    for candidate in (text, message):
        try:
            return candidate.format(**params)
        except (KeyError, IndexError, ValueError, AttributeError):
            continue
    return message
