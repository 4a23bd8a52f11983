"""Folding names for keys: case, accents, spaces and the key separator."""

from __future__ import annotations

import pytest

from chalicelib.core.text import MAX_FOLDED, fold


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("  Café   Expresso ", "cafe expresso"),
        ("AÇAÍ", "acai"),
        ("İstanbul", "istanbul"),
        ("Straße", "strasse"),
        ("ﬁlé #1", "file 1"),
        ("São\tPaulo\n", "sao paulo"),
        ("#", ""),
    ],
)
def test_fold_ignores_case_accents_spacing_and_separators(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_folded_names_are_bounded() -> None:
    assert len(fold("ﷺ" * 200)) <= MAX_FOLDED
