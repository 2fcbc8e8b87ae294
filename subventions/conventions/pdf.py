"""Actes attributifs as PDF (convention, CPO, arrêté, avenant): a pure function from an acte and its lines to bytes.

Fonts, escaping and the "page X / Y" footer are those of the récépissé (subventions.demandes.pdf); the tables those
of the procès-verbal (subventions.comites.pdf)."""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

from django.db.models import Count, Prefetch, Q, Sum
from django.utils import timezone
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from subventions.comites.enums import Decision
from subventions.comites.models import DecisionLigne
from subventions.comites.pdf import _table
from subventions.conventions.models import ActeAttribution, ActeLigne, NatureActe, StatutActe
from subventions.demandes.enums import SensLigne
from subventions.demandes.pdf import (
    LARGEUR_UTILE,
    MARGE,
    PARIS,
    POLICE,
    _CanvasNumerote,
    _date,
    _fiche,
    _imprimable,
    _polices,
    _styles,
)
from subventions.demandes.pdf import _p as _p_brut
from subventions.referentiel.models import QPV, Objectif
from subventions.templatetags.subventions_tags import NBSP, formater_montant

ZERO = Decimal("0.00")
CENT = Decimal("100")
CENTIME = Decimal("0.01")
MOIS = (
    "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre",
    "décembre",
)  # fmt: skip
EN_LETTRES = {2: "deux", 3: "trois", 4: "quatre"}
ORDINAUX = {1: "première", 2: "deuxième", 3: "troisième", 4: "quatrième"}
POINTILLES = "…………………………"
INSECABLES = (("n° ", f"n°{NBSP}"), ("« ", f"«{NBSP}"), (" »", f"{NBSP}»"), (" :", f"{NBSP}:"), (" ;", f"{NBSP};"))


# --- Loading ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Donnees:
    """Everything the document prints, loaded once."""

    acte: ActeAttribution
    lignes: list[ActeLigne]
    rang_avenant: int  # 1 for the first avenant of its parent; 0 for an original document
    deja_attribue: Decimal  # for an avenant: granted for the same exercice by the parent and the earlier avenants
    acomptes: tuple = ()  # the financeur's acomptes prévus (paiements.AcomptePrevu), in order

    @property
    def total(self) -> Decimal:
        # The document's own figure is the sum of its lines: the total row of its table can never disagree.
        return sum((al.montant for al in self.lignes), ZERO)

    @property
    def arrete(self) -> bool:
        return self.acte.nature == NatureActe.ARRETE


def _charger(pk: int) -> _Donnees:
    """The acte, its lines with their demandes (objectifs, QPV, budget, indicateurs) and the séances that granted
    them: a fixed number of queries whatever the number of lines."""
    acte = ActeAttribution.objects.select_related("financeur", "porteur", "campagne__contrat", "parent").get(pk=pk)
    decisions = (
        DecisionLigne.objects.filter(decision=Decision.ACCORDEE)
        .select_related("seance")
        .order_by("seance__date", "seance_id")
    )
    lignes = list(
        ActeLigne.objects.filter(acte=acte)
        .select_related("ligne__demande__territoire")
        .prefetch_related(
            Prefetch(
                "ligne__demande__objectifs",
                queryset=Objectif.objects.select_related("pilier").order_by("pilier__numero", "ordre", "code"),
            ),
            Prefetch("ligne__demande__qpvs", queryset=QPV.objects.order_by("code")),
            "ligne__demande__lignes_budget",
            "ligne__demande__indicateurs",
            Prefetch("ligne__decisions_comite", queryset=decisions, to_attr="decisions_accordees"),
        )
        .order_by("ligne__demande__numero", "pk")
    )
    rang, deja = 0, ZERO
    if acte.est_avenant and acte.parent_id:
        # Earlier avenants only (lower pk): a later one does not change what this document says.
        precedents = ActeAttribution.objects.filter(parent_id=acte.parent_id, pk__lt=acte.pk).aggregate(
            nombre=Count("pk"),
            montant=Sum("montant_total", filter=Q(exercice=acte.exercice) & ~Q(statut=StatutActe.RESILIEE)),
        )
        rang = precedents["nombre"] + 1
        deja = precedents["montant"] or ZERO
        parent = acte.parent
        if parent.exercice == acte.exercice and parent.statut != StatutActe.RESILIEE:
            deja += parent.montant_total
    from subventions.paiements.models import AcomptePrevu

    acomptes = tuple(AcomptePrevu.objects.filter(financeur_id=acte.financeur_id).order_by("rang"))
    return _Donnees(acte=acte, lignes=lignes, rang_avenant=rang, deja_attribue=deja, acomptes=acomptes)


# --- Small pure helpers -------------------------------------------------------------------------------------------


def _insecables(texte: str) -> str:
    """French typography: no line break between « n° » and its number, inside guillemets, before : and ;."""
    for avant, apres in INSECABLES:
        texte = texte.replace(avant, apres)
    return texte


def _p(texte, style: ParagraphStyle) -> Paragraph:
    """Plain (user or fixed) text: escaped by the récépissé's helper, with French non-breaking spaces."""
    return _p_brut(_insecables(str(texte)), style)


def _m(markup: str, style: ParagraphStyle, **kwargs) -> Paragraph:
    """Markup whose user parts were escaped with _e()."""
    return Paragraph(_insecables(markup), style, **kwargs)


def _e(texte) -> str:
    """User text inside reportlab markup: drawable characters, escaped."""
    return escape(_imprimable(str(texte)))


def _euros(montant: Decimal) -> str:
    return formater_montant(montant)


def _pourcentage(valeur: Decimal) -> str:
    """Decimal('50.00') → '50 %', Decimal('33.33') → '33,33 %' (French, non-breaking space)."""
    texte = f"{valeur.quantize(CENTIME, rounding=ROUND_HALF_UP).normalize():f}".replace(".", ",")
    return f"{texte}{NBSP}%"


def _date_longue(jour: date) -> str:
    """date(2015, 6, 1) → '1er juin 2015'."""
    return f"{'1er' if jour.day == 1 else jour.day}{NBSP}{MOIS[jour.month - 1]}{NBSP}{jour.year}"


def _budget_total(demande) -> Decimal:
    """Total charges of the action's budget prévisionnel (balanced with its produits when the demande was filed)."""
    return sum((lb.montant for lb in demande.lignes_budget.all() if lb.sens == SensLigne.CHARGE), ZERO)


def _part(montant: Decimal, budget: Decimal) -> str:
    if budget <= 0:
        return "—"
    return _pourcentage((montant * CENT / budget).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _signataire_financeur(financeur) -> str:
    parties = [x for x in (financeur.signataire_nom.strip(), financeur.signataire_qualite.strip()) if x]
    return ", ".join(parties) if parties else "son représentant habilité"


def _representant_porteur(porteur) -> str:
    nom = " ".join(x for x in (porteur.representant_prenom, porteur.representant_nom) if x).strip()
    if not nom:
        return "son représentant légal"
    return f"{nom}, {porteur.representant_qualite}" if porteur.representant_qualite else nom


def _adresse_porteur(porteur) -> str:
    return ", ".join(x for x in (porteur.adresse, f"{porteur.code_postal} {porteur.commune}".strip()) if x)


def _iban(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def _designation_parent(parent) -> str:
    """'la convention n° X', 'l’arrêté attributif n° X' or 'la convention pluriannuelle d’objectifs n° X'."""
    if parent.nature == NatureActe.ARRETE:
        return f"l’arrêté attributif n° {parent.numero}"
    if parent.annee_fin:
        return f"la convention pluriannuelle d’objectifs n° {parent.numero}"
    return f"la convention n° {parent.numero}"


def _titre(d: _Donnees) -> str:
    """The document's title as printed at its head."""
    acte = d.acte
    if acte.est_avenant:
        parent = _designation_parent(acte.parent)
        if d.arrete:
            return f"Arrêté modificatif n° {d.rang_avenant} de {parent}"
        avenant = "Avenant financier" if acte.parent.annee_fin else "Avenant"
        return f"{avenant} n° {d.rang_avenant} à {parent}"
    if d.arrete:
        return "Arrêté attributif de subvention"
    if acte.annee_fin:
        return f"Convention pluriannuelle d’objectifs {acte.exercice}–{acte.annee_fin}"
    return "Convention d’attribution de subvention"


def _libelle_court(d: _Donnees) -> str:
    if d.acte.est_avenant:
        return "Arrêté modificatif" if d.arrete else "Avenant"
    if d.arrete:
        return "Arrêté attributif"
    return "Convention pluriannuelle d’objectifs" if d.acte.annee_fin else "Convention"


def _le_present(d: _Donnees) -> str:
    """How the document names itself in its articles."""
    if d.arrete:
        return "le présent arrêté"
    return "le présent avenant" if d.acte.est_avenant else "la présente convention"


def _a_signature(d: _Donnees) -> str:
    """The event that triggers the advance: signature of a convention, notification of an arrêté."""
    if d.arrete:
        return "à la notification du présent arrêté"
    return f"à la signature {'du présent avenant' if d.acte.est_avenant else 'de la présente convention'}"


def nom_fichier(acte) -> str:
    """An ASCII-safe file name for the acte's PDF: convention-ETAT-2015-0001.pdf, avenant-…, arrete-…"""
    arrete = acte.nature == NatureActe.ARRETE
    if acte.est_avenant:
        prefixe = "arrete-modificatif" if arrete else "avenant"
    elif arrete:
        prefixe = "arrete"
    else:
        prefixe = "convention-pluriannuelle" if acte.annee_fin else "convention"
    numero = unicodedata.normalize("NFKD", acte.numero or "").encode("ascii", "ignore").decode("ascii")
    numero = re.sub(r"[^A-Za-z0-9_-]+", "-", numero).strip("-") or str(acte.pk)
    return f"{prefixe}-{numero}.pdf"


# --- Styles and blocks --------------------------------------------------------------------------------------------


def _styles_acte() -> dict[str, ParagraphStyle]:
    styles = _styles()
    base = styles["base"]
    corps = ParagraphStyle("corps", parent=base, alignment=TA_JUSTIFY, spaceAfter=4)
    return {
        **styles,
        "titre": ParagraphStyle("titre_acte", parent=styles["titre"], alignment=TA_CENTER, fontSize=16, leading=20),
        "numero": ParagraphStyle(
            "numero", parent=base, fontName=styles["gras"].fontName, fontSize=13, leading=17, alignment=TA_CENTER
        ),
        "sous_titre": ParagraphStyle("sous_titre_acte", parent=styles["sous_titre"], alignment=TA_CENTER),
        "corps": corps,
        # The sentence that introduces a table stays on the table's page.
        "chapeau": ParagraphStyle("chapeau", parent=corps, keepWithNext=1),
        "rubrique": ParagraphStyle("rubrique", parent=styles["libelle"], spaceBefore=4, spaceAfter=1, keepWithNext=1),
        "visa": ParagraphStyle("visa", parent=corps, spaceAfter=2),
        # The bullet has its own font (Helvetica by default, not embedded): the embedded one instead.
        "puce": ParagraphStyle(
            "puce", parent=corps, leftIndent=6 * mm, bulletIndent=1.5 * mm, bulletFontName=POLICE, spaceAfter=2
        ),
        "article": ParagraphStyle(
            "article", parent=styles["section"], fontSize=10.5, spaceBefore=8, spaceAfter=3, keepWithNext=1
        ),
        "centre": ParagraphStyle(
            "centre", parent=base, fontName=styles["gras"].fontName, alignment=TA_CENTER, spaceBefore=6, spaceAfter=6
        ),
    }


def _article(numero: int, intitule: str, styles) -> Paragraph:
    return _m(f"Article {'1er' if numero == 1 else numero} – {_e(intitule)}", styles["article"])


def _puces(markups: list[str], styles) -> list[Paragraph]:
    return [_m(m, styles["puce"], bulletText="–") for m in markups]


def _entete(d: _Donnees, styles) -> list:
    acte = d.acte
    campagne = acte.campagne
    sous_titre = f"Politique de la ville — {campagne.titre} — exercice {acte.exercice}"
    return [
        _p(acte.financeur.nom, styles["sous_titre"]),
        Spacer(1, 6 * mm),
        _p(_titre(d), styles["titre"]),
        Spacer(1, 2 * mm),
        _p(f"N° {acte.numero}", styles["numero"]),
        _p(sous_titre, styles["sous_titre"]),
        Spacer(1, 6 * mm),
    ]


def _identite_financeur(financeur) -> str:
    morceaux = [f"<b>{_e(financeur.nom)}</b>, ci-après « le financeur »"]
    if financeur.siret:
        morceaux.append(f"SIRET {_e(financeur.siret)}")
    if financeur.adresse:
        morceaux.append(f"dont le siège est situé {_e(financeur.adresse)}")
    morceaux.append(f"représenté par {_e(_signataire_financeur(financeur))}")
    return ", ".join(morceaux)


def _auteur_arrete(financeur) -> str:
    """'Mme X, préfète déléguée…, pour le financeur État, SIRET…': the one who decides speaks first."""
    signataire = ", ".join(x for x in (financeur.signataire_nom.strip(), financeur.signataire_qualite.strip()) if x)
    auteur = f"{_e(signataire)}, pour le financeur" if signataire else "Le représentant habilité du financeur"
    morceaux = [f"{auteur} <b>{_e(financeur.nom)}</b>"]
    if financeur.siret:
        morceaux.append(f"SIRET {_e(financeur.siret)}")
    if financeur.adresse:
        morceaux.append(f"dont le siège est situé {_e(financeur.adresse)}")
    return ", ".join(morceaux)


def _identite_porteur(porteur) -> str:
    nom = f"<b>{_e(porteur.nom)}</b>" + (f" ({_e(porteur.sigle)})" if porteur.sigle else "")
    morceaux = [nom, _e(porteur.get_forme_juridique_display()), "ci-après « le bénéficiaire »"]
    if porteur.siret:
        morceaux.append(f"SIRET {_e(porteur.siret)}")
    if porteur.rna:
        morceaux.append(f"numéro RNA {_e(porteur.rna)}")
    if adresse := _adresse_porteur(porteur):
        morceaux.append(f"dont le siège est situé {_e(adresse)}")
    morceaux.append(f"représenté par {_e(_representant_porteur(porteur))}")
    return ", ".join(morceaux)


def _parties(d: _Donnees, styles) -> list:
    acte = d.acte
    if d.arrete:
        # An arrêté is the financeur's unilateral decision: its author speaks, the bénéficiaire is named in art. 1.
        return [_m(f"{_auteur_arrete(acte.financeur)},", styles["corps"])]
    return [
        _p("Entre", styles["gras"]),
        _m(f"{_identite_financeur(acte.financeur)},", styles["corps"]),
        _p("d’une part,", styles["corps"]),
        _p("et", styles["gras"]),
        _m(f"{_identite_porteur(acte.porteur)},", styles["corps"]),
        _p("d’autre part,", styles["corps"]),
    ]


def _designation_contrat(nom: str) -> str:
    """'Contrat de ville de Marseille' → 'le contrat de ville de Marseille'; 'Marseille' → 'le contrat de ville
    « Marseille »'."""
    nom = nom.strip()
    if nom.lower().startswith("contrat de ville"):
        return f"le c{nom[1:]}"
    return f"le contrat de ville « {nom} »"


def _seances(d: _Donnees) -> list[tuple[object, list[str]]]:
    """The séances that granted the lines, by date, each with the dossier numbers it granted."""
    par_seance: dict[int, tuple[object, list[str]]] = {}
    for al in d.lignes:
        for decision in al.ligne.decisions_accordees:
            seance = decision.seance
            par_seance.setdefault(seance.pk, (seance, []))[1].append(al.ligne.demande.numero or "—")
    return sorted(par_seance.values(), key=lambda sd: (sd[0].date, sd[0].pk))


def _visas(d: _Donnees, styles) -> list:
    acte = d.acte
    campagne = acte.campagne
    contrat = getattr(campagne, "contrat", None)
    visas = [
        "Vu la loi n° 2000-321 du 12 avril 2000 relative aux droits des citoyens dans leurs relations avec les "
        "administrations, notamment son article 10",
        "Vu le décret n° 2001-495 du 6 juin 2001 pris pour l’application de l’article 10 de la loi n° 2000-321 du "
        "12 avril 2000 et relatif à la transparence financière des aides octroyées par les personnes publiques",
        "Vu la loi n° 2014-173 du 21 février 2014 de programmation pour la ville et la cohésion urbaine",
        "Vu l’arrêté du 11 octobre 2006 relatif au compte rendu financier prévu par l’article 10 de la loi "
        "n° 2000-321 du 12 avril 2000",
    ]
    if contrat is not None:
        visas.append(
            f"Vu {_e(_designation_contrat(contrat.nom))} (périmètre : {_e(contrat.perimetre)}), conclu pour la "
            f"période {contrat.annee_debut}–{contrat.annee_fin}"
        )
    else:
        visas.append("Vu le contrat de ville conclu en application de l’article 6 de la loi n° 2014-173")
    visas.append(f"Vu l’appel à projets « {_e(campagne.titre)} » de l’exercice {campagne.exercice}")
    if acte.est_avenant:
        parent = acte.parent
        periode = f", conclue pour les années {parent.exercice} à {parent.annee_fin}" if parent.annee_fin else ""
        visas.append(f"Vu {_e(_designation_parent(parent))}{periode}")
    demandes = []
    for al in d.lignes:
        demande = al.ligne.demande
        depot = f" du {_date_longue(timezone.localtime(demande.depose_le, PARIS).date())}" if demande.depose_le else ""
        demandes.append(f"n° {_e(demande.numero or '—')}{depot}")
    if len(demandes) == 1:
        visas.append(f"Vu la demande de subvention {demandes[0]} présentée par {_e(acte.porteur.nom)}")
    elif demandes:
        visas.append(f"Vu les demandes de subvention présentées par {_e(acte.porteur.nom)} : {', '.join(demandes)}")
    seances = _seances(d)
    for seance, numeros in seances:
        dossiers = "au dossier" if len(numeros) == 1 else "aux dossiers"
        visas.append(
            f"Vu la décision du {_e(seance.get_kind_display().lower())} du {_date_longue(seance.date)} "
            f"relative {dossiers} {_e(', '.join(numeros))}"
        )
    if not seances:
        visas.append(f"Vu la programmation arrêtée au titre du contrat de ville pour l’exercice {acte.exercice}")
    flux = [_m(f"{visa} ;", styles["visa"]) for visa in visas]
    flux.append(
        _p(
            "Considérant que les actions présentées par le bénéficiaire participent à la mise en œuvre du contrat de "
            "ville et concourent à l’amélioration des conditions de vie des habitants des quartiers prioritaires de "
            "la politique de la ville ; qu’elles sont conçues et mises en œuvre à l’initiative du bénéficiaire et ne "
            "donnent lieu à aucune contrepartie directe pour le financeur ;",
            styles["visa"],
        )
    )
    decision = "ARRÊTE :" if d.arrete else "Il est convenu ce qui suit :"
    flux.append(_p(decision, styles["centre"]))
    return flux


def _tableau_montants(d: _Donnees, styles) -> Table:
    """One row per action (dossier, intitulé, amount) and the total."""
    m, mg = styles["montant"], styles["montant_gras"]
    donnees = [[_p("Dossier", styles["gras"]), _p("Action", styles["gras"]), _p("Montant", mg)]]
    for al in d.lignes:
        demande = al.ligne.demande
        donnees.append(
            [
                _p(demande.numero or "—", styles["base"]),
                _p(demande.intitule, styles["base"]),
                _p(_euros(al.montant), m),
            ]
        )
    donnees.append([_p("Total", styles["gras"]), "", _p(_euros(d.total), mg)])
    largeurs = [28 * mm, LARGEUR_UTILE - 28 * mm - 32 * mm, 32 * mm]
    table = _table(donnees, largeurs, total=True)
    table.setStyle(TableStyle([("SPAN", (0, -1), (1, -1))]))
    return table


def _tableau_echeancier(d: _Donnees, styles) -> Table:
    """The versements as the échéancier will make them when the acte becomes executory (paiements.services
    .echeancier_repartir, the same split to the cent): the advance, the financeur's acomptes prévus, the solde."""
    from subventions.paiements.enums import NaturePaiement
    from subventions.paiements.services import echeancier_repartir

    taux = d.acte.financeur.taux_avance
    parts = echeancier_repartir(montant_total=d.total, taux_avance=taux, taux_acomptes=[a.taux for a in d.acomptes])
    apres_compte_rendu = "après réception et examen du compte rendu financier (CERFA n° 15059) des actions"
    executoire = "la notification du présent arrêté" if d.arrete else _a_signature(d).removeprefix("à ")
    m, mg = styles["montant"], styles["montant_gras"]
    donnees = [[_p("Échéance", styles["gras"]), _p("Condition de versement", styles["gras"]), _p("Montant", mg)]]
    if len(parts) == 1:
        condition = apres_compte_rendu if parts[0][0] == NaturePaiement.SOLDE else _a_signature(d)
        donnees.append([_p("Versement unique", styles["base"]), _p(condition, styles["base"]), _p(_euros(d.total), m)])
    else:
        reste = max(ZERO, CENT - taux - sum((a.taux for a in d.acomptes), ZERO))
        for nature, rang, montant in parts:
            if nature == NaturePaiement.AVANCE:
                libelle, condition = f"Avance ({_pourcentage(taux)})", _a_signature(d)
            elif nature == NaturePaiement.ACOMPTE:
                acompte = d.acomptes[rang - 1]
                libelle = f"Acompte {rang} ({_pourcentage(acompte.taux)})"
                condition = f"{acompte.delai_mois} mois après {executoire}"
            else:
                libelle, condition = f"Solde ({_pourcentage(reste)})", apres_compte_rendu
            donnees.append([_p(libelle, styles["base"]), _p(condition, styles["base"]), _p(_euros(montant), m)])
    donnees.append([_p("Total", styles["gras"]), "", _p(_euros(d.total), mg)])
    table = _table(donnees, [34 * mm, LARGEUR_UTILE - 34 * mm - 32 * mm, 32 * mm], total=True)
    table.setStyle(TableStyle([("SPAN", (0, -1), (1, -1))]))
    return table


def _modalites_versement(d: _Donnees, styles) -> list:
    acte = d.acte
    porteur = acte.porteur
    notification = "du présent arrêté" if d.arrete else f"de {_le_present(d)}"
    if porteur.iban:
        compte = f"sur le compte du bénéficiaire : IBAN {_e(_iban(porteur.iban))}"
        compte += f", BIC {_e(porteur.bic)}" if porteur.bic else ""
    else:
        compte = "sur le compte bancaire dont le bénéficiaire a fourni le relevé d’identité bancaire"
    return [
        _p("La subvention est versée selon l’échéancier suivant :", styles["chapeau"]),
        _tableau_echeancier(d, styles),
        Spacer(1, 2 * mm),
        _m(
            "Les versements interviennent dans un délai de soixante jours à compter de la notification "
            f"{notification} ou, pour le solde, de la réception du compte rendu financier (article 10 de la loi "
            "n° 2000-321 du 12 avril 2000, modifié par la loi n° 2021-875 du 1er juillet 2021). Ils sont effectués "
            f"par virement {compte}. Le solde peut être réduit dans les conditions prévues pour l’excédent et le "
            "reversement.",
            styles["corps"],
        ),
    ]


def _imputation(financeur) -> list[str]:
    champs = [
        ("centre financier", financeur.chorus_centre_financier),
        ("domaine fonctionnel", financeur.chorus_domaine_fonctionnel),
        ("activité", financeur.chorus_activite),
    ]
    renseignes = [f"{libelle} {_e(valeur)}" for libelle, valeur in champs if valeur]
    return [f"La dépense est imputée sur les crédits du financeur : {', '.join(renseignes)}."] if renseignes else []


def _echeance_compte_rendu(d: _Donnees) -> str:
    acte = d.acte
    if acte.annee_fin:
        return (
            "dans les six mois suivant la fin de chaque exercice couvert par la convention, soit au plus tard le "
            f"30 juin {acte.exercice + 1} pour l’exercice {acte.exercice} et le 30 juin de chacune des années "
            f"suivantes, jusqu’au 30 juin {acte.annee_fin + 1} pour l’exercice {acte.annee_fin}"
        )
    return (
        f"dans les six mois suivant la fin de l’exercice {acte.exercice} pour lequel la subvention est attribuée, "
        f"soit au plus tard le 30 juin {acte.exercice + 1}"
    )


def _obligations(d: _Donnees, styles) -> list:
    financeur = d.acte.financeur
    return [
        _p("Le bénéficiaire s’engage à :", styles["corps"]),
        *_puces(
            [
                "réaliser les actions décrites en annexe et utiliser la subvention conformément à son objet ; il ne "
                "peut en reverser tout ou partie à un autre organisme sans l’accord écrit du financeur ;",
                f"transmettre au financeur, {_echeance_compte_rendu(d)}, le compte rendu financier de chaque action "
                "(formulaire CERFA n° 15059), signé par son représentant légal, accompagné d’un bilan qualitatif "
                "renseignant les indicateurs d’évaluation prévus en annexe ;",
                "transmettre ses comptes annuels approuvés et son rapport d’activité du dernier exercice clos ; "
                f"lorsque le montant total des subventions publiques reçues dans l’année dépasse 153{NBSP}000{NBSP}€, "
                "publier ses comptes annuels et le rapport du commissaire aux comptes (article L. 612-4 du code de "
                "commerce) ;",
                f"faire mention du soutien apporté par le financeur ({_e(financeur.nom)}), et faire figurer son "
                "logo, sur tous les supports de communication et dans toutes les publications relatifs aux actions "
                "subventionnées ;",
                "accepter tout contrôle sur pièces et sur place, par le financeur ou par toute personne qu’il "
                "mandate, de la réalisation des actions et de l’emploi de la subvention, et conserver à cet effet "
                "les pièces justificatives pendant dix ans ;",
                "informer sans délai le financeur de toute modification de ses statuts, de sa représentation légale "
                "ou de ses coordonnées bancaires, et de toute difficulté ou de tout retard dans la réalisation des "
                "actions ;",
                "respecter le contrat d’engagement républicain souscrit lors de sa demande (loi n° 2021-1109 du "
                "24 août 2021).",
            ],
            styles,
        ),
    ]


def _excedent(d: _Donnees, styles) -> list:
    tolerance = _pourcentage(d.acte.financeur.tolerance_ecart)
    return [
        _m(
            "Le bénéficiaire peut conserver un excédent raisonnable de la subvention qui n’aurait pas été "
            "intégralement consommée, dès lors que l’action a été réalisée conformément à son objet et que son coût "
            f"total réel n’est pas inférieur de plus de {tolerance} à son budget prévisionnel (article 10 de la loi "
            "n° 2000-321 du 12 avril 2000, modifié par la loi n° 2021-875 du 1er juillet 2021). Au-delà de cette "
            "marge, le financeur réduit le solde en proportion ou, si les sommes déjà versées excèdent la part qui "
            "lui revient, demande le reversement de la différence par l’émission d’un titre de recettes.",
            styles["corps"],
        ),
        _p(
            "Le reversement de tout ou partie de la subvention est également exigé lorsque le bénéficiaire ne réalise "
            "pas tout ou partie des actions, les modifie substantiellement sans l’accord écrit du financeur, ne "
            "produit pas le compte rendu financier dans le délai prévu ou utilise la subvention à une autre fin que "
            "son objet.",
            styles["corps"],
        ),
    ]


def _resiliation(d: _Donnees, styles) -> list:
    if d.arrete:
        texte = (
            "En cas de non-respect par le bénéficiaire de l’une de ses obligations, le financeur peut, après une mise "
            "en demeure adressée par lettre recommandée avec accusé de réception et restée sans effet pendant trente "
            "jours, abroger le présent arrêté et exiger le reversement des sommes indûment perçues."
        )
    else:
        texte = (
            "En cas de non-respect par l’une des parties de l’une de ses obligations, la présente convention peut "
            "être résiliée de plein droit par l’autre partie à l’expiration d’un délai de trente jours suivant "
            "l’envoi d’une lettre recommandée avec accusé de réception valant mise en demeure et restée sans effet. "
            "La résiliation entraîne le reversement des sommes non justifiées dans les conditions de l’article 6."
        )
    return [_p(texte, styles["corps"])]


def _donnees_personnelles(d: _Donnees, styles) -> list:
    le_present = _le_present(d)
    return [
        _p(
            f"Les données à caractère personnel figurant dans {le_present} et dans les demandes de subvention "
            "(identité et coordonnées des représentants et des personnes chargées des dossiers) sont traitées par le "
            "financeur, responsable de traitement, pour l’instruction, le paiement, le suivi, l’évaluation et le "
            "contrôle de la subvention, sur le fondement de l’exécution d’une mission d’intérêt public (article 6, "
            "paragraphe 1, point e, du règlement (UE) 2016/679 du 27 avril 2016, dit RGPD). Elles sont conservées "
            "pendant la durée nécessaire à ces finalités puis selon les règles applicables aux archives publiques. "
            "Les personnes concernées disposent d’un droit d’accès, de rectification, de limitation et d’opposition, "
            "qu’elles exercent auprès du financeur ; elles peuvent introduire une réclamation auprès de la "
            "Commission nationale de l’informatique et des libertés (CNIL).",
            styles["corps"],
        ),
        _p(
            f"Lorsque le montant annuel de la subvention dépasse 23{NBSP}000{NBSP}€, les données essentielles de "
            f"{le_present} (bénéficiaire, objet, montant, dates) sont publiées en données ouvertes (décret "
            "n° 2017-779 du 5 mai 2017).",
            styles["corps"],
        ),
    ]


def _recours(d: _Donnees, styles) -> list:
    if d.arrete:
        texte = (
            f"{_le_present(d).capitalize()} peut faire l’objet d’un recours gracieux auprès de son "
            "auteur ou d’un recours contentieux devant le tribunal administratif territorialement compétent dans un "
            "délai de deux mois à compter de sa notification. Le tribunal peut être saisi par l’application "
            "Télérecours citoyens (www.telerecours.fr)."
        )
    else:
        texte = (
            "Les parties s’efforcent de régler à l’amiable tout différend relatif à l’interprétation ou à "
            f"l’exécution de {_le_present(d)}. À défaut, le litige est porté devant le tribunal administratif "
            "territorialement compétent."
        )
    return [_p(texte, styles["corps"])]


def _notification(d: _Donnees, styles) -> list:
    return [
        _p(
            f"{_le_present(d).capitalize()} est notifié au bénéficiaire, à l’adresse de son "
            "représentant légal ; il est exécutoire à compter de cette notification. Le représentant du financeur et "
            "le comptable public assignataire sont chargés, chacun en ce qui le concerne, de son exécution.",
            styles["corps"],
        )
    ]


def _articles_base(d: _Donnees, styles) -> list:
    acte = d.acte
    nombre = len(d.lignes)
    actions = "de l’action décrite" if nombre == 1 else f"des {nombre} actions décrites"
    if d.arrete:
        objet = [
            _m(
                f"Une subvention est attribuée à {_identite_porteur(acte.porteur)}, pour la réalisation, au titre du "
                f"contrat de ville, {actions} en annexe au présent arrêté, qui en fait partie intégrante.",
                styles["corps"],
            )
        ]
        duree = [
            _p(
                f"La subvention est attribuée au titre de l’exercice {acte.exercice}. Les actions sont réalisées au "
                "cours de cet exercice, aux dates précisées en annexe.",
                styles["corps"],
            )
        ]
    elif acte.annee_fin:
        annees = acte.annee_fin - acte.exercice + 1
        objet = [
            _p(
                "La présente convention pluriannuelle d’objectifs a pour objet de définir les objectifs partagés par "
                "le financeur et le bénéficiaire et les conditions du soutien financier que le financeur apporte, "
                f"pour les années {acte.exercice} à {acte.annee_fin}, à la réalisation, au titre du contrat de ville, "
                f"{actions} en annexe, qui en fait partie intégrante. Le bénéficiaire s’engage à mettre en œuvre ces "
                "actions, à son initiative et sous sa responsabilité.",
                styles["corps"],
            )
        ]
        duree = [
            _p(
                f"La présente convention est conclue pour une durée de {EN_LETTRES.get(annees, annees)} ans, "
                f"couvrant les exercices {acte.exercice} à {acte.annee_fin}. Elle prend effet à sa signature par les "
                "deux parties et s’achève au versement du solde du dernier exercice ou, le cas échéant, au "
                "reversement prévu à l’article 6.",
                styles["corps"],
            )
        ]
    else:
        objet = [
            _p(
                "La présente convention a pour objet de définir les conditions dans lesquelles le financeur apporte "
                f"son soutien financier au bénéficiaire pour la réalisation, au titre du contrat de ville, {actions} "
                "en annexe, qui en fait partie intégrante. Le bénéficiaire s’engage à mettre en œuvre ces actions, à "
                "son initiative et sous sa responsabilité, conformément aux objectifs et au budget présentés dans sa "
                "demande.",
                styles["corps"],
            )
        ]
        duree = [
            _p(
                f"La présente convention est conclue pour l’exercice {acte.exercice}. Elle prend effet à sa signature "
                "par les deux parties et s’achève au versement du solde ou, le cas échéant, au reversement prévu à "
                "l’article 6. Les actions sont réalisées au cours de l’exercice, aux dates précisées en annexe.",
                styles["corps"],
            )
        ]
    repartition = "affectée à l’action suivante :" if nombre == 1 else "répartie entre les actions comme suit :"
    if acte.annee_fin:
        if acte.annee_fin == acte.exercice + 1:
            suivants = f"Pour l’exercice {acte.annee_fin}"
        else:
            suivants = f"Pour les exercices {acte.exercice + 1} à {acte.annee_fin}"
        montant_intro = (
            f"Pour l’exercice {acte.exercice}, première année de la convention, le financeur attribue au "
            f"bénéficiaire une subvention d’un montant total de <b>{_e(_euros(d.total))}</b>, {repartition}"
        )
        montant_suite = [
            _p(
                f"{suivants}, le montant de la subvention est fixé chaque année par un avenant financier, sous "
                "réserve de l’inscription des crédits au budget du financeur et du respect par le bénéficiaire de ses "
                "obligations, au vu du compte rendu de l’exercice précédent.",
                styles["corps"],
            )
        ]
    else:
        montant_intro = (
            f"Le financeur attribue au bénéficiaire une subvention d’un montant total de "
            f"<b>{_e(_euros(d.total))}</b>, {repartition}"
        )
        montant_suite = []
    montant = [
        _m(montant_intro, styles["chapeau"]),
        _tableau_montants(d, styles),
        Spacer(1, 2 * mm),
        *montant_suite,
        *(_m(texte, styles["corps"]) for texte in _imputation(acte.financeur)),
    ]
    articles = [
        ("Objet", objet),
        ("Durée", duree),
        ("Montant de la subvention", montant),
        ("Modalités de versement", _modalites_versement(d, styles)),
        ("Obligations du bénéficiaire", _obligations(d, styles)),
        ("Excédent et reversement", _excedent(d, styles)),
        ("Retrait de la subvention" if d.arrete else "Résiliation", _resiliation(d, styles)),
        ("Données personnelles", _donnees_personnelles(d, styles)),
        ("Voies et délais de recours" if d.arrete else "Règlement des litiges", _recours(d, styles)),
    ]
    if d.arrete:
        articles.append(("Notification et exécution", _notification(d, styles)))
    return _numeroter(articles, styles)


def _articles_avenant(d: _Donnees, styles) -> list:
    acte = d.acte
    parent = acte.parent
    designation = _designation_parent(parent)
    nombre = len(d.lignes)
    actions = "l’action suivante, qui s’ajoute" if nombre == 1 else "les actions suivantes, qui s’ajoutent"
    if parent.annee_fin and acte.exercice != parent.exercice:
        annee = acte.exercice - parent.exercice + 1
        objet = (
            f"{_le_present(d).capitalize()} fixe le montant de la subvention attribuée au bénéficiaire pour "
            f"l’exercice {acte.exercice}, {ORDINAUX.get(annee, f'{annee}e')} année de {_e(designation)} conclue "
            f"pour les années {parent.exercice} à {parent.annee_fin}, au titre des actions suivantes :"
        )
    else:
        pronom = "qu’il" if parent.nature == NatureActe.ARRETE else "qu’elle"
        objet = (
            f"{_le_present(d).capitalize()} a pour objet d’attribuer au bénéficiaire une subvention complémentaire "
            f"au titre de {_e(designation)}, pour {actions} à celles {pronom} prévoit :"
        )
    if d.deja_attribue > 0:
        cumul = (
            f"Le montant total attribué au bénéficiaire pour l’exercice {acte.exercice} est ainsi porté de "
            f"{_e(_euros(d.deja_attribue))} à <b>{_e(_euros(d.deja_attribue + d.total))}</b>."
        )
    else:
        cumul = f"Il constitue le montant de la subvention attribuée pour l’exercice {acte.exercice}."
    le_present = _le_present(d)
    articles = [
        (
            "Objet",
            [_m(objet, styles["chapeau"]), _tableau_montants(d, styles), Spacer(1, 2 * mm)],
        ),
        (
            "Montant",
            [
                _m(
                    f"Le montant attribué par {le_present} s’élève à <b>{_e(_euros(d.total))}</b>. {cumul}",
                    styles["corps"],
                ),
                *(_m(texte, styles["corps"]) for texte in _imputation(acte.financeur)),
            ],
        ),
        ("Modalités de versement", _modalites_versement(d, styles)),
        (
            "Compte rendu et contrôle",
            [
                _m(
                    f"Le bénéficiaire transmet au financeur, {_echeance_compte_rendu(d)}, le compte rendu financier "
                    "de chaque action mentionnée à l’article 1er (formulaire CERFA n° 15059), et se soumet aux "
                    f"contrôles prévus par {_e(designation)}.",
                    styles["corps"],
                )
            ],
        ),
        ("Données personnelles", _donnees_personnelles(d, styles)),
        (
            "Autres stipulations",
            [
                _m(
                    f"Toutes les autres stipulations de {_e(designation)} demeurent inchangées et s’appliquent aux "
                    f"actions mentionnées à l’article 1er. {le_present.capitalize()} en fait partie intégrante.",
                    styles["corps"],
                )
            ],
        ),
    ]
    if d.arrete:
        articles += [
            ("Voies et délais de recours", _recours(d, styles)),
            ("Notification et exécution", _notification(d, styles)),
        ]
    return _numeroter(articles, styles)


def _numeroter(articles: list[tuple[str, list]], styles) -> list:
    flux: list = []
    for numero, (intitule, contenu) in enumerate(articles, start=1):
        flux.append(_article(numero, intitule, styles))
        flux += contenu
    return flux


def _bloc_signature(partie: str, nom: str, signataire: str, mention: str, styles) -> list:
    return [
        _p(partie, styles["gras"]),
        _p(nom, styles["base"]),
        Spacer(1, 2 * mm),
        _p(f"Fait à {POINTILLES}, le {POINTILLES}", styles["base"]),
        Spacer(1, 2 * mm),
        _p(signataire, styles["base"]),
        _p(mention, styles["note"]),
        Spacer(1, 22 * mm),
    ]


def _signatures(d: _Donnees, styles) -> list:
    acte = d.acte
    financeur = _bloc_signature(
        "Pour le financeur", acte.financeur.nom, _signataire_financeur(acte.financeur), "(signature et cachet)", styles
    )
    if d.arrete:
        # An arrêté is signed by its author alone: one block, on the right as on any administrative decision.
        table = Table([["", financeur]], colWidths=[LARGEUR_UTILE / 2, LARGEUR_UTILE / 2])
        intro = []
    else:
        porteur = _bloc_signature(
            "Pour le bénéficiaire",
            acte.porteur.nom,
            _representant_porteur(acte.porteur),
            "(signature précédée de la mention « lu et approuvé », et cachet)",
            styles,
        )
        table = Table([[porteur, financeur]], colWidths=[LARGEUR_UTILE / 2, LARGEUR_UTILE / 2])
        intro = [_p("Fait en deux exemplaires originaux.", styles["corps"])]
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), POLICE, 9.5),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return [Spacer(1, 4 * mm), KeepTogether([*intro, table])]


def _fiche_action(rang: int, al: ActeLigne, d: _Donnees, styles) -> list:
    demande = al.ligne.demande
    budget = _budget_total(demande)
    objectifs = "\n".join(
        f"Pilier {o.pilier.numero} — {o.pilier.libelle} : {o.libelle}" for o in demande.objectifs.all()
    )
    public = []
    if demande.public_nombre:
        public.append(f"{demande.public_nombre} bénéficiaires")
    if demande.public_age_min is not None and demande.public_age_max is not None:
        public.append(f"de {demande.public_age_min} à {demande.public_age_max} ans")
    if demande.public_part_qpv is not None:
        public.append(f"dont {_pourcentage(demande.public_part_qpv)} résidant en quartier prioritaire")
    decisions = "; ".join(
        f"{dl.seance.get_kind_display()} du {dl.seance.date:%d/%m/%Y}" for dl in al.ligne.decisions_accordees
    )
    lignes = [
        ("Numéro de dossier", demande.numero),
        ("Objectifs du contrat de ville", objectifs),
        ("Public visé", ", ".join(public)),
        ("Quartiers prioritaires", "; ".join(f"{q.code} — {q.nom}" for q in demande.qpvs.all())),
    ]
    if demande.territoire_id:
        lignes.append(("Territoire de projet", demande.territoire.nom))
    lignes += [
        ("Lieu(x) de réalisation", demande.lieu),
        ("Période de réalisation", f"du {_date(demande.date_debut)} au {_date(demande.date_fin)}"),
        ("Budget prévisionnel total de l’action", _euros(budget) if budget > 0 else "—"),
        (f"Subvention attribuée par {d.acte.financeur.nom}", _euros(al.montant)),
        ("Part du budget de l’action", _part(al.montant, budget)),
        ("Décision", decisions),
    ]
    flux: list = [KeepTogether([_p(f"Action {rang} — {demande.intitule}", styles["section"]), _fiche(lignes, styles)])]
    # Free texts stay out of the table: a table row cannot split across pages, a paragraph can.
    for libelle, texte in (
        ("Description du public", demande.public_description),
        ("Objectifs de l’action", demande.objectifs_action),
        ("Description de l’action", demande.description),
    ):
        if texte.strip():
            flux += [_p(libelle, styles["rubrique"]), _p(texte.strip(), styles["corps"])]
    indicateurs = list(demande.indicateurs.all())
    flux.append(_p("Indicateurs d’évaluation", styles["rubrique"]))
    if indicateurs:
        flux += _puces([f"{_e(i.nom)} — valeur cible : {_e(i.cible)}" for i in indicateurs], styles)
    else:
        flux.append(_p("Aucun indicateur renseigné.", styles["corps"]))
    return flux


def _annexe(d: _Donnees, styles) -> list:
    libelle = "à l’arrêté" if d.arrete else ("à l’avenant" if d.acte.est_avenant else "à la convention")
    flux: list = [
        PageBreak(),
        _p(f"Annexe {libelle} n° {d.acte.numero}", styles["titre"]),
        _p("Description des actions subventionnées", styles["sous_titre"]),
        Spacer(1, 4 * mm),
    ]
    for rang, al in enumerate(d.lignes, start=1):
        flux += _fiche_action(rang, al, d, styles)
    if not d.lignes:
        flux.append(_p("Aucune action.", styles["corps"]))
    return flux


def _construire(histoire: list, *, titre: str, auteur: str, sujet: str, pied: str) -> bytes:
    """Like the PV's, but the frame has no inner padding: full-width tables line up with the paragraphs."""
    tampon = io.BytesIO()
    document = BaseDocTemplate(
        tampon,
        pagesize=A4,
        leftMargin=MARGE,
        rightMargin=MARGE,
        topMargin=MARGE,
        bottomMargin=20 * mm,
        title=_imprimable(titre),
        author=_imprimable(auteur),
        subject=_imprimable(sujet),
        creator="Subventions",
        invariant=1,
        # Without this the canvas opens every page in Helvetica, a base-14 font that is not embedded.
        initialFontName=POLICE,
        initialFontSize=9.5,
    )
    cadre = Frame(
        document.leftMargin,
        document.bottomMargin,
        document.width,
        document.height,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="corps",
    )
    document.addPageTemplates([PageTemplate(id="page", frames=[cadre])])
    canvasmaker = type("_Canvas", (_CanvasNumerote,), {"pied_gauche": _imprimable(pied)})
    document.build(histoire, canvasmaker=canvasmaker)
    return tampon.getvalue()


# --- Entry point --------------------------------------------------------------------------------------------------


def acte_pdf(acte) -> bytes:
    """The PDF of a convention, a CPO, an arrêté or an avenant. Loads what it prints itself (a fixed number of
    queries); reads only; the same data gives the same bytes (invariant mode, no current date in the document)."""
    _polices()
    d = _charger(acte.pk)
    styles = _styles_acte()
    articles = _articles_avenant(d, styles) if d.acte.est_avenant else _articles_base(d, styles)
    histoire = [
        *_entete(d, styles),
        *_parties(d, styles),
        Spacer(1, 3 * mm),
        *_visas(d, styles),
        *articles,
        *_signatures(d, styles),
        *_annexe(d, styles),
    ]
    return _construire(
        histoire,
        titre=f"{_titre(d)} — n° {d.acte.numero}",
        auteur=d.acte.financeur.nom,
        sujet=f"Subvention à {d.acte.porteur.nom} — exercice {d.acte.exercice}",
        pied=f"{_libelle_court(d)} n° {d.acte.numero} — {d.acte.porteur.nom}",
    )
