"""Charts drawn on the server as inline SVG (no JavaScript, no CDN): the geometry of horizontal bar charts, computed
here from a table's numbers; the templates only place the shapes (numbers in attributes under `{% localize off %}`).
Each chart carries a text description, and the page shows its table next to it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

LARGEUR = 760
X_BARRES = 270  # bars start after the labels column
LARGEUR_BARRES = 330
HAUTEUR_BARRE = 16
ECART_SERIES = 3
ECART_CATEGORIES = 14
HAUT = 34  # room for the legend
LIBELLE_MAX = 36

# Colours with at least 3:1 contrast on white (WCAG 1.4.11); every value is also written next to its bar.
COULEURS = {
    "demande": "#4f6f94",
    "propose": "#9a5b00",
    "accorde": "#1f4e79",
    "paye": "#2e7d32",
    "nombre": "#1f4e79",
}


@dataclass(frozen=True)
class Serie:
    cle: str
    nom: str

    @property
    def couleur(self) -> str:
        return COULEURS.get(self.cle, "#1f4e79")


@dataclass
class Barre:
    x: float
    y: float
    largeur: float
    hauteur: float
    couleur: str
    texte: str
    x_texte: float
    y_texte: float
    serie: str


@dataclass
class Categorie:
    libelle: str
    libelle_court: str
    y_libelle: float
    barres: list[Barre] = field(default_factory=list)


@dataclass
class Legende:
    nom: str
    couleur: str
    x: float
    x_texte: float


@dataclass
class Graphique:
    id: str
    titre: str
    description: str
    largeur: int
    hauteur: int
    categories: list[Categorie]
    legende: list[Legende]
    tableau: str  # the id of the table that gives the same figures
    y_legende: float = 12
    x_axe: float = X_BARRES
    x_libelle: float = X_BARRES - 8

    @property
    def vide(self) -> bool:
        return not self.categories


def _court(texte: str) -> str:
    return texte if len(texte) <= LIBELLE_MAX else texte[: LIBELLE_MAX - 1].rstrip() + "…"


def barres(
    *,
    id: str,
    titre: str,
    categories: Sequence[tuple[str, Sequence[Decimal | int]]],
    series: Sequence[Serie],
    formater: Callable[[Decimal | int], str],
    tableau: str,
    centre: bool = False,
) -> Graphique:
    """Horizontal bars, one group per category and one bar per series, lengths proportional to the largest value.
    `centre` draws a funnel: each bar centred on the axis."""
    maximum = max((Decimal(v) for _l, valeurs in categories for v in valeurs), default=Decimal(0))
    hauteur_groupe = len(series) * HAUTEUR_BARRE + (len(series) - 1) * ECART_SERIES
    y = HAUT if len(series) > 1 else 10
    resultat = []
    phrases = []
    for libelle, valeurs in categories:
        categorie = Categorie(libelle, _court(libelle), round(y + hauteur_groupe / 2 + 4, 1))
        for i, (serie, valeur) in enumerate(zip(series, valeurs, strict=True)):
            longueur = float(Decimal(valeur) / maximum * LARGEUR_BARRES) if maximum else 0.0
            longueur = max(longueur, 1.0) if valeur else 0.0
            x = X_BARRES + ((LARGEUR_BARRES - longueur) / 2 if centre else 0)
            haut = y + i * (HAUTEUR_BARRE + ECART_SERIES)
            texte = formater(valeur)
            categorie.barres.append(
                Barre(
                    x=round(x, 1),
                    y=round(haut, 1),
                    largeur=round(longueur, 1),
                    hauteur=HAUTEUR_BARRE,
                    couleur=serie.couleur,
                    texte=texte,
                    x_texte=round((X_BARRES + LARGEUR_BARRES if centre else x + longueur) + 6, 1),
                    y_texte=round(haut + HAUTEUR_BARRE - 4, 1),
                    serie=serie.nom,
                )
            )
        phrases.append(
            f"{libelle} : " + ", ".join(f"{b.serie.lower()} {b.texte}" for b in categorie.barres)
            if len(series) > 1
            else f"{libelle} : {categorie.barres[0].texte}"
        )
        resultat.append(categorie)
        y += hauteur_groupe + ECART_CATEGORIES
    legende = []
    if len(series) > 1:
        x = X_BARRES
        for serie in series:
            legende.append(Legende(serie.nom, serie.couleur, x, x + 18))
            x += 22 + 8 * len(serie.nom) + 16
    return Graphique(
        id=id,
        titre=titre,
        description=". ".join(phrases) + "." if phrases else "Aucune donnée.",
        largeur=LARGEUR,
        hauteur=int(y - ECART_CATEGORIES + 10) if resultat else 40,
        categories=resultat,
        legende=legende,
        tableau=tableau,
    )
