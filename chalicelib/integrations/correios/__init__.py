"""Correios (contract API): the client shipping uses."""
