"""Validators for French and banking identifiers, with French messages (python-stdnum, schwifty)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from schwifty import BIC, IBAN
from stdnum import exceptions as stdnum_exceptions
from stdnum.fr import siren, siret

QPV_RE = re.compile(r"^(QP\d{2}[0-9AB]\d{3}|QN\d{2}[0-9AB]\d{2}[0-9A-Z])$")
RNA_RE = re.compile(r"^W\d{9}$")


def normaliser_siret(value: str) -> str:
    """Digits only, as people paste them: spaces (also non-breaking), dots and dashes between the groups removed."""
    return re.sub(r"[\s\u00a0\u202f.\-]", "", value or "")


def valider_siret(value: str) -> None:
    try:
        siret.validate(value)
    except stdnum_exceptions.InvalidLength as exc:
        raise ValidationError(_("Un SIRET compte 14 chiffres."), code="siret_longueur") from exc
    except stdnum_exceptions.InvalidFormat as exc:
        raise ValidationError(_("Un SIRET ne contient que des chiffres."), code="siret_format") from exc
    except stdnum_exceptions.ValidationError as exc:
        raise ValidationError(
            _("Ce SIRET n'est pas valide (clé de contrôle incorrecte) : vérifiez votre avis de situation INSEE."),
            code="siret_cle",
        ) from exc


def siren_de(value: str) -> str:
    return siret.to_siren(siret.compact(value))


def valider_siren(value: str) -> None:
    try:
        siren.validate(value)
    except stdnum_exceptions.ValidationError as exc:
        raise ValidationError(_("Ce SIREN n'est pas valide."), code="siren") from exc


def valider_rna(value: str) -> None:
    if not RNA_RE.match(value or ""):
        raise ValidationError(_("Un numéro RNA s'écrit W suivi de 9 chiffres (ex. W133012345)."), code="rna")


def normaliser_iban(value: str) -> str:
    return re.sub(r"\s+", "", value or "").upper()


def raison_iban(iban: str) -> str:
    """Why schwifty refuses this IBAN, in French (its own messages are English); empty when it is valid."""
    from schwifty import exceptions as e

    try:
        IBAN(iban)
    except e.InvalidCountryCode:
        return _("les deux lettres du début doivent être un code pays (FR pour un compte en France).")
    except e.InvalidLength:
        return _("il n'a pas la bonne longueur (27 caractères pour un compte en France).")
    except (e.InvalidChecksumDigits, e.InvalidBBANChecksum):
        return _("la clé de contrôle ne correspond pas : vérifiez chaque caractère sur votre RIB.")
    except e.SchwiftyException:
        return _("il ne contient que des lettres et des chiffres, dans l'ordre de votre RIB (ex. FR76 3000 …).")
    return ""


def raison_bic(bic: str) -> str:
    """Why schwifty refuses this BIC, in French; empty when it is valid."""
    from schwifty import exceptions as e

    try:
        BIC(bic)
    except e.InvalidLength:
        return _("un BIC compte 8 ou 11 caractères (ex. BDFEFRPPCCT).")
    except e.InvalidCountryCode:
        return _("les 5e et 6e caractères doivent être un code pays (FR pour la France).")
    except e.SchwiftyException:
        return _("vérifiez-le sur votre RIB (8 ou 11 lettres et chiffres, ex. BDFEFRPPCCT).")
    return ""


def valider_iban(value: str) -> None:
    raison = raison_iban(value)
    if raison:
        raise ValidationError(_("Cet IBAN n'est pas valide : %(raison)s") % {"raison": raison}, code="iban")


def valider_bic(value: str) -> None:
    raison = raison_bic(value)
    if raison:
        raise ValidationError(_("Ce BIC n'est pas valide : %(raison)s") % {"raison": raison}, code="bic")


def valider_code_qpv(value: str) -> None:
    if not QPV_RE.match(value or ""):
        raise ValidationError(
            _("Un code QPV s'écrit QP suivi de 6 caractères (ex. QP013001) ou QN suivi de 6 (ex. QN01301M)."),
            code="qpv",
        )
