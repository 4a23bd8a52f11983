"""Catalog codes: shape, the tenant and kind letters, and a check letter that catches typing slips."""

from __future__ import annotations

import pytest

from chalicelib.catalog.codes import CODE_PATTERN, check_letter, is_valid_code, new_code, tenant_letter


@pytest.mark.parametrize(("name", "letter"), [("Rota do Pão", "R"), ("Água Viva", "A"), ("ÉPICA", "E"), ("123", "X")])
def test_tenant_letter_is_the_first_letter_of_the_folded_name(name: str, letter: str) -> None:
    assert tenant_letter(name) == letter


def test_new_codes_have_the_shape_and_a_matching_check_letter() -> None:
    for kind, letter in (("product", "P"), ("service", "S")):
        for _ in range(200):
            code = new_code("Bicicletaria Sul", kind)
            assert CODE_PATTERN.fullmatch(code)
            assert code[:2] == f"B{letter}"
            assert is_valid_code(code)


def test_any_single_digit_slip_or_neighbour_swap_is_caught() -> None:
    body = "RP104729"
    code = body + check_letter(body)
    for position in range(2, 8):
        for digit in "0123456789":
            if digit != code[position]:
                assert not is_valid_code(code[:position] + digit + code[position + 1 :])
    for position in range(2, 7):
        swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
        if swapped != code:
            assert not is_valid_code(swapped)


@pytest.mark.parametrize("text", ["", "RP12345A", "rp123456K", "RP1234567", "R1123456K", "RP123456I"])
def test_malformed_codes_are_not_valid(text: str) -> None:
    assert not is_valid_code(text)
