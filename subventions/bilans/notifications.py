"""Emails to a porteur about its comptes-rendus financiers (corrections asked, validated, reminders), one outbox row
each, keyed so that the same event never sends twice."""

from __future__ import annotations

import calendar
import datetime
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from associations.models import Porteur
from subventions.bilans.enums import A_FAIRE
from subventions.bilans.models import CompteRendu
from workflows.models import Courriel
from workflows.services import courriel_programmer

UN_MOIS = "j-1mois"
JOUR_J = "j0"


def _site() -> str:
    return getattr(settings, "SUBVENTIONS_SITE_URL", "http://127.0.0.1:8000").rstrip("/")


def lien_compte_rendu(compte_rendu: CompteRendu) -> str:
    return _site() + reverse(
        "bilans:porteur_compte_rendu", kwargs={"porteur_pk": compte_rendu.acte.porteur_id, "pk": compte_rendu.pk}
    )


def lien_liste(porteur_id: int) -> str:
    return _site() + reverse("bilans:porteur_liste", kwargs={"porteur_pk": porteur_id})


def destinataires(porteur_id: int) -> list[str]:
    """Emails of the porteur's members whose account is active, sorted, without duplicates."""
    from associations.models import Membre

    emails = Membre.objects.filter(porteur_id=porteur_id, user__is_active=True).values_list("user__email", flat=True)
    return sorted({e for e in emails if e})


def _programmer(*, porteur_id: int, modele: str, sujet: str, gabarit: str, contexte: dict) -> Courriel | None:
    """One outbox row per `modele`. The porteur's row is locked first, so two runs at once cannot both see "no row
    yet" (a retried task, two beat workers)."""
    with transaction.atomic():
        list(Porteur.objects.select_for_update().filter(pk=porteur_id).values_list("pk", flat=True))
        if Courriel.objects.filter(modele=modele).exists():
            return None
        emails = destinataires(porteur_id)
        if not emails:
            return None
        return courriel_programmer(
            destinataires=emails, sujet=sujet, texte=render_to_string(gabarit, contexte), modele=modele
        )


def notifier_corrections(*, compte_rendu: CompteRendu, numero: int) -> Courriel | None:
    """The instructeur asks for corrections: what to correct and where; once per request (`numero`)."""
    cr = compte_rendu
    return _programmer(
        porteur_id=cr.acte.porteur_id,
        modele=f"compte-rendu-corrections:{cr.pk}:{numero}",
        sujet=f"Compte-rendu financier à corriger — {cr.demande.numero} {cr.demande.intitule}"[:255],
        gabarit="bilans/email/corrections.txt",
        contexte={"cr": cr, "lien": lien_compte_rendu(cr)},
    )


def notifier_validation(*, compte_rendu: CompteRendu) -> Courriel | None:
    """The compte-rendu is validated, with the amount retained; once per compte-rendu."""
    cr = compte_rendu
    return _programmer(
        porteur_id=cr.acte.porteur_id,
        modele=f"compte-rendu-valide:{cr.pk}",
        sujet=f"Compte-rendu financier validé — {cr.demande.numero} {cr.demande.intitule}"[:255],
        gabarit="bilans/email/valide.txt",
        contexte={"cr": cr, "lien": lien_compte_rendu(cr), "reduction": cr.montant_accorde - cr.montant_retenu},
    )


def moins_un_mois(jour: datetime.date) -> datetime.date:
    """The same day one month earlier (the last day of that month when it is shorter: 31 March → 28 February)."""
    annee, mois = (jour.year, jour.month - 1) if jour.month > 1 else (jour.year - 1, 12)
    return jour.replace(year=annee, month=mois, day=min(jour.day, calendar.monthrange(annee, mois)[1]))


def rappels_programmer(*, aujourdhui: datetime.date) -> int:
    """Remind each porteur of its comptes-rendus still to file that are due in one month or today: one email per
    porteur, due date and kind, listing the actions. Running it twice on the same day sends nothing more. Returns
    the number of emails queued now."""
    echeances = {}
    # Due dates whose reminder falls today: today itself, and the day one month after today (month lengths vary,
    # so every due date of the coming 31 days is checked against its own "one month before").
    for delta in range(0, 32):
        echeance = aujourdhui + datetime.timedelta(days=delta)
        if echeance == aujourdhui:
            echeances[echeance] = JOUR_J
        elif moins_un_mois(echeance) == aujourdhui:
            echeances[echeance] = UN_MOIS
    a_rappeler = (
        CompteRendu.objects.filter(statut__in=A_FAIRE, echeance__in=list(echeances))
        .select_related("acte__porteur", "acte__financeur", "demande")
        .order_by("acte__porteur_id", "echeance", "demande__numero")
    )
    groupes: dict[tuple[int, datetime.date], list[CompteRendu]] = defaultdict(list)
    for cr in a_rappeler:
        groupes[(cr.acte.porteur_id, cr.echeance)].append(cr)
    envoyes = 0
    for (porteur_id, echeance), comptes_rendus in groupes.items():
        genre = echeances[echeance]
        porteur = comptes_rendus[0].acte.porteur
        if genre == JOUR_J:
            sujet = f"Dernier jour : comptes-rendus financiers à déposer aujourd'hui — {porteur.nom}"
        else:
            sujet = f"Rappel : comptes-rendus financiers à déposer avant le {echeance:%d/%m/%Y} — {porteur.nom}"
        courriel = _programmer(
            porteur_id=porteur_id,
            modele=f"rappel-compte-rendu:{porteur_id}:{echeance.isoformat()}:{genre}",
            sujet=sujet[:255],
            gabarit="bilans/email/rappel.txt",
            contexte={
                "porteur": porteur,
                "comptes_rendus": comptes_rendus,
                "echeance": echeance,
                "jour_j": genre == JOUR_J,
                "lien": lien_liste(porteur_id),
                "lignes": [(cr, lien_compte_rendu(cr)) for cr in comptes_rendus],
            },
        )
        if courriel is not None:
            envoyes += 1
    return envoyes
