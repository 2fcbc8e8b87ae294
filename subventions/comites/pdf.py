"""The procès-verbal of a séance and the decision letters, as PDF: pure functions from frozen decisions to bytes.

Fonts, escaping and the "page X / Y" footer are those of the récépissé (subventions.demandes.pdf)."""

from __future__ import annotations

import io
from collections import defaultdict
from decimal import Decimal

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from subventions.demandes.pdf import (
    FILET,
    FOND,
    LARGEUR_UTILE,
    MARGE,
    POLICE,
    _CanvasNumerote,
    _fiche,
    _imprimable,
    _p,
    _polices,
    _styles,
)
from subventions.templatetags.subventions_tags import formater_montant

ZERO = Decimal("0.00")
LIBELLES_DECISION = {"accordee": "Accordée", "refusee": "Refusée", "ajournee": "Ajournée"}


def _libelle_decision(d) -> str:
    return LIBELLES_DECISION.get(d.decision, d.decision)


def _table(donnees: list[list], largeurs: list[float], *, total: bool = False) -> Table:
    table = Table(donnees, colWidths=largeurs, repeatRows=1)
    style = [
        ("FONT", (0, 0), (-1, -1), POLICE, 9),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("BACKGROUND", (0, 0), (-1, 0), FOND),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, FILET),
    ]
    if total:
        style.append(("BACKGROUND", (0, -1), (-1, -1), FOND))
    table.setStyle(TableStyle(style))
    return table


def _document(tampon, *, titre: str, auteur: str) -> SimpleDocTemplate:
    return SimpleDocTemplate(
        tampon,
        pagesize=A4,
        leftMargin=MARGE,
        rightMargin=MARGE,
        topMargin=MARGE,
        bottomMargin=20 * mm,
        title=titre,
        author=auteur,
        creator="Subventions",
        invariant=1,
        initialFontName=POLICE,
        initialFontSize=9.5,
    )


def _decisions_table(decisions, styles, *, avec_porteur: bool) -> Table:
    m = styles["montant"]
    entete = ["Dossier", "Action", "Financeur", "Proposé", "Décision", "Accordé"]
    largeurs = [26 * mm, 0, 30 * mm, 23 * mm, 20 * mm, 23 * mm]
    if avec_porteur:
        entete.insert(1, "Porteur")
        largeurs.insert(1, 32 * mm)
    largeurs[largeurs.index(0)] = LARGEUR_UTILE - sum(largeurs)
    donnees = [[_p(t, styles["gras"]) for t in entete]]
    for d in decisions:
        demande = d.ligne.demande
        ligne = [
            _p(demande.numero or "—", styles["base"]),
            _p(demande.intitule, styles["base"]),
            _p(d.financeur.nom, styles["base"]),
            _p(formater_montant(d.montant_propose) or "—", m),
            _p(_libelle_decision(d), styles["base"]),
            _p(formater_montant(d.montant) or "—", m),
        ]
        if avec_porteur:
            ligne.insert(1, _p(demande.porteur.nom, styles["base"]))
        donnees.append(ligne)
    return _table(donnees, largeurs)


def _totaux(decisions, cle, libelle_vide: str, styles, titre: str) -> Table:
    """Per financeur or pilier: lines accordées / refusées / ajournées and the sum granted."""
    groupes: dict[str, dict] = defaultdict(lambda: {"accordee": 0, "refusee": 0, "ajournee": 0, "montant": ZERO})
    for d in decisions:
        g = groupes[cle(d) or libelle_vide]
        g[d.decision] += 1
        g["montant"] += d.montant or ZERO
    m, mg = styles["montant"], styles["montant_gras"]
    entete = [titre, "Accordées", "Refusées", "Ajournées", "Montant accordé"]
    donnees = [[_p(t, styles["gras"]) for t in entete]]
    for nom in sorted(groupes):
        g = groupes[nom]
        donnees.append(
            [_p(nom, styles["base"]), _p(g["accordee"], m), _p(g["refusee"], m), _p(g["ajournee"], m),
             _p(formater_montant(g["montant"]), m)]
        )  # fmt: skip
    total = sum((g["montant"] for g in groupes.values()), ZERO)
    donnees.append(
        [_p("Total", styles["gras"]), _p(sum(g["accordee"] for g in groupes.values()), mg),
         _p(sum(g["refusee"] for g in groupes.values()), mg), _p(sum(g["ajournee"] for g in groupes.values()), mg),
         _p(formater_montant(total), mg)]
    )  # fmt: skip
    reste = LARGEUR_UTILE - 4 * 24 * mm
    return _table(donnees, [reste, 24 * mm, 24 * mm, 24 * mm, 24 * mm], total=True)


def _construire(histoire: list, *, titre: str, auteur: str, pied: str) -> bytes:
    tampon = io.BytesIO()
    canvasmaker = type("_Canvas", (_CanvasNumerote,), {"pied_gauche": _imprimable(pied)})
    _document(tampon, titre=titre, auteur=auteur).build(histoire, canvasmaker=canvasmaker)
    return tampon.getvalue()


def pv_pdf(seance, decisions) -> bytes:
    """The procès-verbal: date, kind, members present, every decision, totals per financeur and per pilier.

    `decisions` are the séance's DecisionLigne rows with ligne__demande__porteur, financeur and pilier loaded."""
    _polices()
    styles = _styles()
    campagne = seance.campagne
    titre = f"Procès-verbal — {seance.get_kind_display()} du {seance.date:%d/%m/%Y}"
    histoire: list = [
        _p("Procès-verbal", styles["titre"]),
        _p(f"{seance.get_kind_display()} — {campagne.titre}", styles["sous_titre"]),
        Spacer(1, 5 * mm),
        _fiche(
            [
                ("Date de la séance", f"{seance.date:%d/%m/%Y}"),
                ("Type de comité", seance.get_kind_display()),
                ("Campagne", f"{campagne.titre} (exercice {campagne.exercice})"),
                ("Financeurs", ", ".join(f.nom for f in seance.financeurs.order_by("nom"))),
                ("Dossiers examinés", str(len({d.ligne.demande_id for d in decisions}))),
            ],
            styles,
        ),
        _p("Membres présents", styles["section"]),
        _p(seance.membres_presents or "Non renseignés.", styles["base"]),
        _p("Décisions", styles["section"]),
        _decisions_table(decisions, styles, avec_porteur=True),
        _p("Totaux par financeur", styles["section"]),
        _totaux(decisions, lambda d: d.financeur.nom, "—", styles, "Financeur"),
        _p("Totaux par pilier", styles["section"]),
        _totaux(decisions, lambda d: d.pilier.libelle if d.pilier_id else "", "Sans pilier", styles, "Pilier"),
        Spacer(1, 4 * mm),
        _p(
            "Les décisions ci-dessus ont été arrêtées en séance et figées à sa clôture. Chaque financeur statue sur "
            "sa propre part ; une demande ajournée sera présentée à une prochaine séance.",
            styles["note"],
        ),
    ]
    return _construire(histoire, titre=titre, auteur=campagne.titre, pied=titre)


def lettre_pdf(seance, porteur, decisions) -> bytes:
    """The decision letter to one porteur: every decision of the séance on that porteur's demandes."""
    _polices()
    styles = _styles()
    campagne = seance.campagne
    accorde = sum((d.montant or ZERO for d in decisions), ZERO)
    representant = " ".join(x for x in (porteur.representant_prenom, porteur.representant_nom) if x)
    adresse = ", ".join(x for x in (porteur.adresse, f"{porteur.code_postal} {porteur.commune}".strip()) if x)
    titre = f"Décision du comité du {seance.date:%d/%m/%Y} — {porteur.nom}"
    histoire: list = [
        _p("Notification de décision", styles["titre"]),
        _p(f"{seance.get_kind_display()} du {seance.date:%d/%m/%Y} — {campagne.titre}", styles["sous_titre"]),
        Spacer(1, 5 * mm),
        _fiche(
            [
                ("Structure", porteur.nom),
                ("SIRET", porteur.siret),
                ("Adresse", adresse),
                ("À l'attention de", representant or "—"),
            ],
            styles,
        ),
        Spacer(1, 4 * mm),
        _p(
            f"Madame, Monsieur, le {seance.get_kind_display().lower()} réuni le {seance.date:%d/%m/%Y} a statué sur "
            f"les demandes de subvention de votre structure. Chaque financeur décide de sa propre part ; ses "
            f"décisions sont les suivantes.",
            styles["base"],
        ),
        _p("Décisions", styles["section"]),
        _decisions_table(decisions, styles, avec_porteur=False),
        Spacer(1, 3 * mm),
        Paragraph(f"<b>Total accordé à la structure : {_imprimable(formater_montant(accorde))}</b>", styles["base"]),
        Spacer(1, 4 * mm),
        _p(
            "Une subvention accordée donne lieu à une convention (ou à un arrêté) du financeur, qui en fixe les "
            "conditions et le calendrier de versement. Une demande ajournée sera réexaminée lors d'une prochaine "
            "séance, sans nouveau dépôt.",
            styles["note"],
        ),
    ]
    return _construire(histoire, titre=titre, auteur=campagne.titre, pied=titre)
