"""The compte-rendu financier as a PDF (CERFA n° 15059 content): a pure function from a deposited compte-rendu to
bytes. Fonts, escaping and the "page X / Y" footer are those of the récépissé (subventions.demandes.pdf)."""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table, TableStyle

from subventions.bilans import calculs
from subventions.demandes.pdf import (
    FILET,
    FOND,
    LARGEUR_UTILE,
    PARIS,
    POLICE,
    _fiche,
    _p,
    _polices,
    _styles,
    rendre_pdf,
)
from subventions.templatetags.subventions_tags import formater_montant


def _tableau_budget(lignes, chiffres, styles) -> Table:
    m, mg = styles["montant"], styles["montant_gras"]
    entete = [_p(t, styles["gras"]) for t in ("Compte", "Prévu", "Réalisé", "Écart", "Écart (%)")]
    donnees, totaux = [entete], []

    def rang(libelle, prevu, realise, ecart, pct, gras=False):
        sm = mg if gras else m
        return [
            _p(libelle, styles["gras"] if gras else styles["base"]),
            _p(formater_montant(prevu), sm),
            _p("—" if realise is None else formater_montant(realise), sm),
            _p(calculs.montant_signe(ecart), sm),
            _p(calculs.pourcent_signe(pct), sm),
        ]

    for sens, titre, prevu, realise in (
        ("charge", "Total des charges", chiffres.charges_prevues, chiffres.charges_realisees),
        ("produit", "Total des produits", chiffres.produits_prevus, chiffres.produits_realises),
    ):
        for ligne in (lg for lg in lignes if lg.sens == sens):
            donnees.append(rang(ligne.libelle, ligne.prevu, ligne.realise, ligne.ecart, ligne.ecart_pourcent))
        e, pct = calculs.ecart(prevu, realise)
        donnees.append(rang(titre, prevu, realise, e, pct, gras=True))
        totaux.append(len(donnees) - 1)
    donnees.append(
        rang(
            "Coût de l’action (charges hors contributions en nature)",
            chiffres.cout_prevu,
            chiffres.cout_reel,
            chiffres.ecart_cout,
            chiffres.ecart_cout_pourcent,
            gras=True,
        )
    )
    totaux.append(len(donnees) - 1)
    largeurs = [0, 27 * mm, 27 * mm, 27 * mm, 20 * mm]
    largeurs[0] = LARGEUR_UTILE - sum(largeurs)
    table = Table(donnees, colWidths=largeurs, repeatRows=1)
    style = [
        ("FONT", (0, 0), (-1, -1), POLICE, 9),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("BACKGROUND", (0, 0), (-1, 0), FOND),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, FILET),
    ]
    style += [("BACKGROUND", (0, i), (-1, i), FOND) for i in totaux]
    table.setStyle(TableStyle(style))
    return table


def _tableau_indicateurs(indicateurs, styles) -> Table:
    m = styles["montant"]
    donnees = [[_p(t, styles["gras"]) for t in ("Indicateur", "Cible", "Atteint", "Réalisation")]]
    for ind in indicateurs:
        taux = ind.taux
        donnees.append(
            [
                _p(ind.nom, styles["base"]),
                _p(ind.cible or "—", m),
                _p(ind.realise or "—", m),
                _p("—" if taux is None else f"{taux}\u00a0%", m),
            ]
        )
    largeurs = [0, 30 * mm, 30 * mm, 24 * mm]
    largeurs[0] = LARGEUR_UTILE - sum(largeurs)
    table = Table(donnees, colWidths=largeurs, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), POLICE, 9),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), FOND),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, FILET),
            ]
        )
    )
    return table


def compte_rendu_pdf(compte_rendu) -> bytes:
    """The compte-rendu as deposited (depose_le set). Reads only; the same input gives the same bytes (invariant
    mode: no creation date, fixed document id)."""
    if compte_rendu.depose_le is None:
        raise ValueError("Seul un compte-rendu déposé a un PDF.")
    _polices()
    styles = _styles()
    cr = compte_rendu
    acte, demande, porteur = cr.acte, cr.demande, cr.acte.porteur
    lignes = list(cr.lignes.select_related("financeur").order_by("ordre"))
    indicateurs = list(cr.indicateurs.order_by("ordre", "pk"))
    pieces = list(cr.pieces.select_related("piece__type").order_by("ajoutee_le", "pk"))
    chiffres = calculs.bilan(cr, lignes)
    depose_le = cr.depose_le.astimezone(PARIS)
    deposant = (cr.depose_par.get_full_name() or cr.depose_par.email) if cr.depose_par else "—"
    periode = "—"
    if demande.date_debut or demande.date_fin:
        debut = demande.date_debut.strftime("%d/%m/%Y") if demande.date_debut else "—"
        fin = demande.date_fin.strftime("%d/%m/%Y") if demande.date_fin else "—"
        periode = f"du {debut} au {fin}"

    histoire = [
        _p("Compte-rendu financier de l’action", styles["titre"]),
        _p(f"CERFA n° 15059 — {acte.financeur.nom} — exercice {acte.exercice}", styles["sous_titre"]),
        Spacer(1, 5 * mm),
        _fiche(
            [
                ("Structure", f"{porteur.nom} (SIRET {porteur.siret or 'à compléter'})"),
                ("Action", demande.intitule),
                ("Dossier", demande.numero),
                ("Période prévue", periode),
                ("Acte attributif", f"{acte.libelle} {acte.numero}"),
                ("Subvention accordée", formater_montant(cr.montant_accorde)),
                ("Date limite de dépôt", cr.echeance.strftime("%d/%m/%Y")),
                ("Déposé le", f"{depose_le:%d/%m/%Y %H:%M} (heure de Paris), par {deposant}"),
            ],
            styles,
        ),
        _p("Budget réalisé de l’action", styles["section"]),
        _tableau_budget(lignes, chiffres, styles),
        Spacer(1, 2 * mm),
        _p(
            f"Résultat de l’action (produits − charges réalisés) : {calculs.montant_signe(chiffres.resultat)}. "
            f"Tolérance de sous-réalisation du financeur : {calculs.lisible(chiffres.tolerance)}\u00a0%.",
            styles["note"],
        ),
        _p("Indicateurs d’évaluation", styles["section"]),
        _tableau_indicateurs(indicateurs, styles) if indicateurs else _p("Aucun indicateur.", styles["base"]),
        _p("Actions réalisées", styles["section"]),
        _p(cr.actions_realisees or "—", styles["base"]),
        _p("Public touché", styles["section"]),
        _p(
            (cr.public_touche or "—")
            + (f"\nNombre de bénéficiaires : {cr.beneficiaires}" if cr.beneficiaires is not None else ""),
            styles["base"],
        ),
        _p("Explication des écarts", styles["section"]),
        _p(cr.ecarts_expliques or "—", styles["base"]),
        _p("Pièces jointes", styles["section"]),
        _p(
            "; ".join(f"{p.piece.type.libelle} ({p.piece.nom_original})" for p in pieces) or "Aucune pièce jointe.",
            styles["base"],
        ),
        Spacer(1, 3 * mm),
        _p(
            "Le bénéficiaire atteste l’exactitude du présent compte-rendu et tient les pièces justificatives des "
            "dépenses à la disposition du financeur pendant dix ans.",
            styles["note"],
        ),
    ]
    return rendre_pdf(
        histoire,
        titre=f"Compte-rendu financier {demande.numero}",
        auteur=porteur.nom,
        sujet=demande.intitule,
        pied=f"Compte-rendu financier — {acte.numero} — dossier {demande.numero} — {porteur.nom}",
    )
