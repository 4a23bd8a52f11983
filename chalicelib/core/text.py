"""Text folding for names in keys: one form per name, so lists sort and search case- and accent-insensitively."""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_FOLDED", "fold"]

# Sort keys are at most 1 KiB; NFKD can lengthen a name (a ligature becomes several letters), so the folded form
# is cut here, long after anything a person types as a search prefix.
MAX_FOLDED = 200


def fold(text: str) -> str:
    """``text`` casefolded, decomposed (NFKD), without accents, with runs of spaces made one.

    ``"  Café  Ãgua "`` → ``"cafe agua"``. Control characters and ``#`` (the key separator) become spaces, so the
    result is safe inside a key; it is empty only when ``text`` has nothing but those.
    """
    # Casefold first: it can itself produce combining marks ("İ" → "i" + U+0307), which NFKD then separates.
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = []
    for ch in decomposed:
        if unicodedata.combining(ch):
            continue
        kept.append(" " if ch == "#" or unicodedata.category(ch).startswith("C") else ch)
    return " ".join("".join(kept).split())[:MAX_FOLDED].rstrip()
