"""Ids and years read from URLs and forms by the staff views."""

import pytest

from subventions.parametres import entier_positif


@pytest.mark.parametrize(
    ("valeur", "attendu"),
    [("12", 12), (7, 7), (" 42 ", 42), (str(2**63 - 1), 2**63 - 1), (str(2**63), None), ("0", None), ("-5", None),
     ("", None), (None, None), ("1.5", None), ("douze", None)],
)  # fmt: skip
def test_entier_positif_keeps_only_what_a_bigint_primary_key_can_be(valeur, attendu):
    assert entier_positif(valeur) == attendu
