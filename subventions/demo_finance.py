"""Demo finance for 2015 (Marseille scale), after the conventions demo: the comptes-rendus of every executory État
convention opened; about half of the advances put in a liste on 15 September 2015 and paid on 5 October; in
December 2015, comptes-rendus filed for actions already over: some validated (solde due), one with under-spending
beyond the tolerance (reduced solde), one whose action cost much less than the 80 % advance (reversement), one sent
back for corrections, a few awaiting the instructeur; the others still to file.

The demo replays 2015: the finance and bilans services stamp what they write with the clock (liste numbers, file
headers, payment-date checks, the transition log, the PDFs), so each step runs with the clock set to its 2015 date
instead of rewriting stamped rows and files afterwards. Deterministic (choices follow the acte numbers) and
idempotent (each step looks at the state first: a second run changes nothing)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from unittest import mock
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F

from associations.enums import RoleMembre
from associations.models import Membre
from subventions.bilans import services as bilans
from subventions.bilans.enums import StatutCompteRendu
from subventions.bilans.models import CompteRendu, DecompteSolde
from subventions.campagnes.models import Campagne
from subventions.comptes.models import User
from subventions.conventions.models import STATUTS_EXECUTOIRES, ActeAttribution
from subventions.paiements.enums import NaturePaiement, StatutPaiement
from subventions.paiements.models import Paiement, Reversement
from subventions.paiements.services import Criteres, RienAPayer, liste_creer, paiement_payer
from subventions.referentiel.models import Financeur
from workflows.enums import StatutCourriel
from workflows.models import Courriel

PARIS = ZoneInfo("Europe/Paris")
CENTIME = Decimal("0.01")
# The one-time key of the demo's liste: a second run finds it instead of making another.
CLE_LISTE = uuid.uuid5(uuid.NAMESPACE_URL, "subventions-demo:liste-avances-etat-2015")
LISTE_LE = datetime(2015, 9, 15, 10, 0, tzinfo=PARIS)
PAYE_LE = date(2015, 10, 5)
# Comptes-rendus are filed for actions over by then.
FIN_ACTIONS_AU_PLUS_TARD = date(2015, 11, 30)
# What each scenario spends, as a share of the forecast (État tolerance: 10 %, advance: 80 %).
FACTEURS_VALIDES = ("1.00", "0.97", "1.03", "0.95", "0.99", "1.02")
FACTEUR_REDUIT = "0.85"  # 15 % under the forecast: the grant is cut to 85 %, above the 80 % advance → a small solde
FACTEUR_REVERSEMENT = "0.60"  # 60 % of the forecast: 60 % is due, 80 % was paid → 20 % to pay back
NB_EN_ATTENTE = 4


@contextmanager
def horloge(moment: datetime) -> Iterator[None]:
    """Run the services as on `moment`: django.utils.timezone.now (hence localdate, auto_now fields) returns it."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def _a(jour: date, heure: int = 10, minute: int = 0) -> datetime:
    return datetime(jour.year, jour.month, jour.day, heure, minute, tzinfo=PARIS)


def _executoires(campagne: Campagne, etat: Financeur) -> list[ActeAttribution]:
    return list(
        ActeAttribution.objects.filter(campagne=campagne, financeur=etat, statut__in=STATUTS_EXECUTOIRES)
        .prefetch_related("lignes__ligne__demande")
        .order_by("numero")
    )


def _terminees(acte: ActeAttribution) -> bool:
    fins = [al.ligne.demande.date_fin for al in acte.lignes.all()]
    return bool(fins) and all(f is not None and f <= FIN_ACTIONS_AU_PLUS_TARD for f in fins)


def _a_payer(actes: list[ActeAttribution]) -> list[ActeAttribution]:
    """About half of the executory actes: every acte whose actions are over (their comptes-rendus come in December),
    then every other one of the rest."""
    terminees = [a for a in actes if _terminees(a)]
    autres = [a for a in actes if not _terminees(a)]
    cible = (len(actes) + 1) // 2
    return terminees + autres[::2][: max(0, cible - len(terminees))]


def _payer_les_avances(actes: list[ActeAttribution], etat: Financeur, finance: User) -> None:
    avances = list(
        Paiement.objects.filter(
            echeancier__acte__in=actes, nature=NaturePaiement.AVANCE, statut=StatutPaiement.A_PAYER
        ).values_list("pk", flat=True)
    )
    if avances:
        # RienAPayer: every one held by its porteur's bank details; they stay due.
        with horloge(LISTE_LE), suppress(RienAPayer):
            liste_creer(criteres=Criteres(financeur=etat, paiement_ids=avances), acteur=finance, cle=CLE_LISTE)
    exportes = Paiement.objects.filter(
        echeancier__acte__in=actes, nature=NaturePaiement.AVANCE, statut=StatutPaiement.EXPORTE
    ).order_by("reference")
    with horloge(_a(PAYE_LE, 14)):
        for rang, paiement in enumerate(exportes, start=1):
            paiement_payer(paiement=paiement, acteur=finance, reference=f"DRFIP13-2015-{rang:05d}", date=PAYE_LE)


def _saisie(cr: CompteRendu, facteur: Decimal) -> bilans.Saisie:
    """The actuals of a compte-rendu spent at `facteur` × the forecast, with words to match."""
    demande = cr.demande
    realises = {
        lg.pk: (lg.prevu * facteur).quantize(CENTIME, rounding=ROUND_HALF_UP) for lg in cr.lignes.order_by("ordre")
    }
    indicateurs = {}
    for ind in cr.indicateurs.order_by("ordre"):
        valeur = ind.cible
        if ind.cible.strip().isdigit():
            valeur = str((Decimal(ind.cible.strip()) * facteur).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
        indicateurs[ind.pk] = (ind.nom, valeur)
    ecart = (1 - facteur) * 100
    if ecart > 10:
        ecarts = (
            f"L'action a coûté {ecart:.0f} % de moins que prévu : l'animateur recruté n'a pris son poste qu'en "
            "septembre et une partie des séances du printemps n'a pas eu lieu."
        )
    elif ecart < -2:
        ecarts = "Dépenses de transport un peu plus élevées que prévu, couvertes par les fonds propres."
    else:
        ecarts = "Pas d'écart notable."
    nombre = demande.public_nombre or 0
    return bilans.Saisie(
        champs={
            "actions_realisees": (
                f"{demande.description or demande.intitule} Action réalisée du "
                f"{demande.date_debut:%d/%m/%Y} au {demande.date_fin:%d/%m/%Y}"
                + (f", à {demande.lieu}." if demande.lieu else ".")
            ),
            "public_touche": demande.public_description or "Habitants des quartiers prioritaires.",
            "beneficiaires": int((Decimal(nombre) * min(facteur, Decimal("1.1"))).to_integral_value()) or None,
            "ecarts_expliques": ecarts,
        },
        realises=realises,
        indicateurs=indicateurs,
    )


def _deposer(pk: int, facteur: str, le: datetime, representants: dict[int, User]) -> None:
    cr = CompteRendu.objects.select_related("acte", "demande").get(pk=pk)
    if cr.statut != StatutCompteRendu.A_DEPOSER:
        return
    user = representants[cr.acte.porteur_id]
    with horloge(le):
        cr = bilans.compte_rendu_enregistrer(compte_rendu=cr, user=user, saisie=_saisie(cr, Decimal(facteur)))
        bilans.compte_rendu_deposer(compte_rendu=cr, user=user)


def _valider(pk: int, le: datetime, instructeur: User) -> None:
    cr = CompteRendu.objects.get(pk=pk)
    if cr.statut == StatutCompteRendu.DEPOSE:
        with horloge(le):
            bilans.compte_rendu_valider(compte_rendu=cr, acteur=instructeur)


def _demander_corrections(pk: int, le: datetime, instructeur: User) -> None:
    cr = CompteRendu.objects.get(pk=pk)
    if cr.statut == StatutCompteRendu.DEPOSE:
        with horloge(le):
            bilans.compte_rendu_demander_corrections(
                compte_rendu=cr,
                acteur=instructeur,
                commentaire=(
                    "Les frais de personnel réalisés (compte 64) ne correspondent pas aux fiches de paie jointes : "
                    "joignez le grand livre de l'action et corrigez le montant."
                ),
            )


@transaction.atomic
def seed_finance(*, campagne: Campagne, domaine: str) -> dict[str, int]:
    etat = Financeur.objects.get(code="etat")
    finance = User.objects.get(email=f"finance.etat@{domaine}")
    instructeur = User.objects.get(email=f"instructeur.etat@{domaine}")
    debut_courriels = Courriel.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    actes = _executoires(campagne, etat)
    with horloge(_a(date(2015, 8, 3), 9)):
        for acte in actes:
            bilans.comptes_rendus_ouvrir(acte=acte)

    payes = _a_payer(actes)
    _payer_les_avances(payes, etat, finance)
    avance_payee = set(
        Paiement.objects.filter(
            echeancier__acte__in=payes, nature=NaturePaiement.AVANCE, statut=StatutPaiement.PAYE
        ).values_list("echeancier__acte_id", flat=True)
    )
    terminees = [a for a in payes if a.pk in avance_payee and _terminees(a)]
    seules = [a for a in terminees if len(a.lignes.all()) == 1]
    # Two one-action actes for the reduced solde and the reversement; a third left to file in the browser (its
    # porteur deposits, the instructeur validates, the solde becomes due).
    reduit, reversement, libre = (seules + [None, None, None])[:3]
    reste = [a for a in terminees if a not in (reduit, reversement, libre)]
    valides = reste[: len(FACTEURS_VALIDES)]
    a_corriger = reste[len(FACTEURS_VALIDES) : len(FACTEURS_VALIDES) + 1]
    en_attente = reste[len(FACTEURS_VALIDES) + 1 : len(FACTEURS_VALIDES) + 1 + NB_EN_ATTENTE]

    representants = {
        m.porteur_id: m.user
        for m in Membre.objects.filter(role=RoleMembre.REPRESENTANT_LEGAL, porteur__actes__in=terminees)
        .select_related("user")
        .order_by("porteur_id", "-pk")
    }
    comptes_rendus: dict[int, list[int]] = {}
    for acte_id, pk in CompteRendu.objects.filter(acte__in=terminees).order_by("pk").values_list("acte_id", "pk"):
        comptes_rendus.setdefault(acte_id, []).append(pk)

    a_valider = [*zip(valides, FACTEURS_VALIDES, strict=False)]
    a_valider += [(a, f) for a, f in ((reduit, FACTEUR_REDUIT), (reversement, FACTEUR_REVERSEMENT)) if a]
    plan = a_valider + [(a, "0.98") for a in a_corriger] + [(a, "1.00") for a in en_attente]
    for rang, (acte, facteur) in enumerate(plan):
        for pk in comptes_rendus[acte.pk]:
            _deposer(pk, facteur, _a(date(2015, 12, 1) + timedelta(days=rang % 10), 11, rang), representants)
    for rang, (acte, _facteur) in enumerate(a_valider):
        for pk in comptes_rendus[acte.pk]:
            _valider(pk, _a(date(2015, 12, 14) + timedelta(days=rang % 7), 15, rang), instructeur)
    for acte in a_corriger:
        _demander_corrections(comptes_rendus[acte.pk][0], _a(date(2015, 12, 15), 16), instructeur)

    # The 2015 notices were "sent" long ago: the outbox rows are archived, not sent again to the demo addresses.
    Courriel.objects.filter(pk__gt=debut_courriels).update(statut=StatutCourriel.ENVOYE)
    return chiffres(campagne=campagne, financeur=etat)


def chiffres(*, campagne: Campagne, financeur: Financeur) -> dict[str, int]:
    """The demo's finance figures for a financeur and campagne, read from the rows."""
    crs = CompteRendu.objects.filter(acte__campagne=campagne, acte__financeur=financeur)
    decomptes = DecompteSolde.objects.filter(acte__campagne=campagne, acte__financeur=financeur)
    avances = Paiement.objects.filter(
        echeancier__acte__campagne=campagne, financeur=financeur, nature=NaturePaiement.AVANCE
    )
    par_statut = dict.fromkeys(StatutCompteRendu.values, 0)
    for statut in crs.values_list("statut", flat=True):
        par_statut[statut] += 1
    return {
        "comptes_rendus": sum(par_statut.values()),
        "comptes_rendus_a_deposer": par_statut[StatutCompteRendu.A_DEPOSER],
        "comptes_rendus_deposes": par_statut[StatutCompteRendu.DEPOSE],
        "comptes_rendus_a_corriger": par_statut[StatutCompteRendu.A_CORRIGER],
        "comptes_rendus_valides": par_statut[StatutCompteRendu.VALIDE],
        "avances_payees": avances.filter(statut=StatutPaiement.PAYE).count(),
        "avances_a_payer": avances.filter(statut=StatutPaiement.A_PAYER).count(),
        "soldes_a_payer": decomptes.filter(solde__statut=StatutPaiement.A_PAYER).count(),
        "soldes_reduits": decomptes.filter(solde__isnull=False, montant_du__lt=F("montant_attribue")).count(),
        "reversements": Reversement.objects.filter(acte__campagne=campagne, financeur=financeur).count(),
    }
