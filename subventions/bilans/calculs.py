"""The arithmetic of a compte-rendu financier, on Decimal only: gaps, cost, the amount finally due, and the figures
(`bilan`) the pages, the PDF and the validation read from a compte-rendu's lines."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from subventions.templatetags.subventions_tags import formater_montant

if TYPE_CHECKING:
    from subventions.bilans.models import CompteRendu, LigneRealisee
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal("0.00")
CENT = Decimal("100")
CENTIME = Decimal("0.01")
DIXIEME = Decimal("0.1")
# Contributions volontaires en nature (86 / 87) are valued, not spent: they never count in the cost of the action.
COMPTES_EN_NATURE = ("86", "87")


def ecart(prevu: Decimal, realise: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    """(realise − prevu in €, the same in % of prevu rounded to 0.1), None where it cannot be computed."""
    if realise is None:
        return None, None
    euros = realise - prevu
    if not prevu:
        return euros, None
    return euros, (euros * CENT / prevu).quantize(DIXIEME, rounding=ROUND_HALF_UP)


def cout(lignes: Iterable[tuple[str, str, Decimal | None]]) -> Decimal:
    """The cost of an action: its charges (sens, compte, montant), contributions en nature excluded."""
    return sum((m or ZERO for sens, compte, m in lignes if sens == "charge" and compte not in COMPTES_EN_NATURE), ZERO)


def sous_realisation(cout_prevu: Decimal, cout_reel: Decimal) -> Decimal:
    """How much less than planned the action cost, in % of the forecast (0 when it cost as much or more)."""
    if cout_prevu <= 0 or cout_reel >= cout_prevu:
        return Decimal("0.0")
    return ((cout_prevu - cout_reel) * CENT / cout_prevu).quantize(DIXIEME, rounding=ROUND_HALF_UP)


def montant_retenu(*, accorde: Decimal, cout_prevu: Decimal, cout_reel: Decimal, tolerance: Decimal) -> Decimal:
    """The grant finally due for one action.

    The full grant, unless the action cost less than its forecast by more than `tolerance` % (the financeur's
    tolérance de sous-réalisation): then the grant in proportion, accorde × cout_reel / cout_prevu, rounded to the
    cent and never above the grant. Exactly at the tolerance, nothing is taken off. The comparison is made on the
    exact figures, not on a rounded percentage."""
    if cout_prevu <= 0 or cout_reel >= cout_prevu:
        return accorde
    if (cout_prevu - cout_reel) * CENT <= tolerance * cout_prevu:
        return accorde
    proportionnel = (accorde * cout_reel / cout_prevu).quantize(CENTIME, rounding=ROUND_HALF_UP)
    return max(ZERO, min(accorde, proportionnel))


def lisible(pourcentage: Decimal | None) -> str:
    """10.00 → "10", 12.50 → "12,5", −3.4 → "-3,4": a percentage written the French way, without useless zeros."""
    if pourcentage is None:
        return "—"
    texte = f"{pourcentage.normalize():f}".replace(".", ",")
    return texte if texte != "-0" else "0"


def montant_signe(valeur: Decimal | None) -> str:
    """+1 234,00 € / −1 234,00 € (a true minus sign), "—" when unknown."""
    if valeur is None:
        return "—"
    if valeur > 0:
        return "+" + formater_montant(valeur)
    if valeur < 0:
        return "\u2212" + formater_montant(-valeur)
    return formater_montant(valeur)


def pourcent_signe(valeur: Decimal | None) -> str:
    if valeur is None:
        return "—"
    texte = f"{abs(valeur):.1f}".replace(".", ",") + "\u00a0%"
    return ("+" if valeur > 0 else "\u2212" if valeur < 0 else "") + texte


def taux(realise: str, cible: str) -> Decimal | None:
    """An indicator's achievement in % when both values are numbers ("30", "12,5"), else None."""
    try:
        r = Decimal(str(realise).strip().replace(",", ".").replace("\u00a0", "").replace(" ", ""))
        c = Decimal(str(cible).strip().replace(",", ".").replace("\u00a0", "").replace(" ", ""))
    except (InvalidOperation, ValueError):
        return None
    if not c.is_finite() or not r.is_finite() or c <= 0:
        return None
    return (r * CENT / c).quantize(Decimal("1"), rounding=ROUND_HALF_UP)


@dataclass
class Bilan:
    """The figures of a compte-rendu, computed from its lines: totals, cost, gap, and what validation would retain."""

    charges_prevues: Decimal
    charges_realisees: Decimal
    produits_prevus: Decimal
    produits_realises: Decimal
    cout_prevu: Decimal
    cout_reel: Decimal
    sous_realisation: Decimal
    tolerance: Decimal
    montant_accorde: Decimal
    montant_retenu: Decimal
    complet: bool

    @property
    def reduction(self) -> Decimal:
        return self.montant_accorde - self.montant_retenu

    @property
    def ecart_cout(self) -> Decimal:
        return self.cout_reel - self.cout_prevu

    @property
    def ecart_cout_pourcent(self) -> Decimal | None:
        return ecart(self.cout_prevu, self.cout_reel)[1]

    @property
    def resultat(self) -> Decimal:
        """Produits − charges actually recorded: an excédent (> 0) or a déficit (< 0)."""
        return self.produits_realises - self.charges_realisees

    @property
    def hors_tolerance(self) -> bool:
        return self.montant_retenu < self.montant_accorde


def bilan(compte_rendu: CompteRendu, lignes: list[LigneRealisee] | None = None) -> Bilan:
    """The figures of a compte-rendu (its lines may be given, already loaded)."""
    lignes = list(compte_rendu.lignes.all()) if lignes is None else lignes

    def somme(sens: str, attribut: str) -> Decimal:
        return sum((getattr(lg, attribut) or ZERO for lg in lignes if lg.sens == sens), ZERO)

    cout_prevu = cout((lg.sens, lg.compte, lg.prevu) for lg in lignes)
    cout_reel = cout((lg.sens, lg.compte, lg.realise) for lg in lignes)
    tolerance = compte_rendu.acte.financeur.tolerance_ecart
    return Bilan(
        charges_prevues=somme("charge", "prevu"),
        charges_realisees=somme("charge", "realise"),
        produits_prevus=somme("produit", "prevu"),
        produits_realises=somme("produit", "realise"),
        cout_prevu=cout_prevu,
        cout_reel=cout_reel,
        sous_realisation=sous_realisation(cout_prevu, cout_reel),
        tolerance=tolerance,
        montant_accorde=compte_rendu.montant_accorde,
        montant_retenu=montant_retenu(
            accorde=compte_rendu.montant_accorde, cout_prevu=cout_prevu, cout_reel=cout_reel, tolerance=tolerance
        ),
        complet=all(lg.realise is not None for lg in lignes),
    )
