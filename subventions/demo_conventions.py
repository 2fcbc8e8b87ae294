"""Demo conventions for 2015 (Marseille scale): the État's 279 conventions built and rendered, a third signed by both
parties (executory), a third signed by the porteur and awaiting the signataire, the rest sent to the porteurs —
the demo association's among them, so that association@demo.test can sign it in the browser. The other financeurs'
documents are built by the worker in the background (the same task as after a séance)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from associations.enums import RoleMembre
from associations.models import Membre
from subventions.campagnes.models import Campagne
from subventions.comptes.models import User
from subventions.conventions import services
from subventions.conventions.models import ActeAttribution, PartieSignataire, Signature, StatutActe
from subventions.demandes.models import Demande
from subventions.referentiel.models import Financeur
from workflows.enums import StatutCourriel
from workflows.models import Courriel, TransitionLog

# Who signs for each financeur, where it sits (printed on the documents).
SIGNATAIRES = {
    "etat": (
        "Marie Lajus",
        "Préfète déléguée pour l'égalité des chances, par délégation du préfet des Bouches-du-Rhône",
        "Préfecture des Bouches-du-Rhône, place Félix-Baret, 13006 Marseille",
    ),
    "ville-marseille": (
        "Arlette Fructus",
        "Adjointe au maire déléguée à la politique de la ville",
        "Quai du Port, 13002 Marseille",
    ),
    "metropole": (
        "Le président",
        "Président de la Métropole Aix-Marseille-Provence",
        "58 boulevard Charles-Livon, 13007 Marseille",
    ),
    "region": ("Le président", "Président du conseil régional", "27 place Jules-Guesde, 13002 Marseille"),
    "caf13": (
        "La directrice",
        "Directrice de la caisse d'allocations familiales",
        "215 chemin de Gibbes, 13014 Marseille",
    ),
}
# The Région signs conventions pluriannuelles d'objectifs (CPO) over three years.
FINANCEURS_CPO = {"region": 3}
COMPTE_DEMO = "association@demo.test"


def financeurs_completer() -> None:
    for code, (nom, qualite, adresse) in SIGNATAIRES.items():
        duree = FINANCEURS_CPO.get(code)
        Financeur.objects.filter(code=code).update(
            signataire_nom=nom,
            signataire_qualite=qualite,
            adresse=adresse,
            mode_cpo=duree is not None,
            duree_cpo=duree or 3,
        )


def _en_2015(jour: int, heure: int) -> datetime:
    from subventions.demo import PARIS

    return datetime(2015, 7, 1, 9, 0, tzinfo=PARIS) + timedelta(days=jour, hours=heure)


@transaction.atomic
def seed_conventions(*, campagne: Campagne, domaine: str) -> dict[str, int]:
    etat = Financeur.objects.get(code="etat")
    services.conventions_batir(campagne=campagne, financeur=etat)
    instructeur = User.objects.get(email=f"instructeur.etat@{domaine}")
    signataire = User.objects.get(email=f"signataire.etat@{domaine}")
    representants = {
        m.porteur_id: m.user
        for m in Membre.objects.filter(role=RoleMembre.REPRESENTANT_LEGAL, porteur__actes__financeur=etat)
        .select_related("user")
        .order_by("porteur_id", "pk")
    }
    demo = set(Membre.objects.filter(user__email=COMPTE_DEMO).values_list("porteur_id", flat=True))
    actes = list(
        ActeAttribution.objects.filter(
            campagne=campagne, financeur=etat, est_avenant=False, statut=StatutActe.GENEREE
        ).order_by("numero")
    )
    debut_courriels = Courriel.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    debut_logs = TransitionLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    compte = {"envoyees": 0, "signees_porteur": 0, "signees": 0}
    dates = {}
    for i, acte in enumerate(actes):
        acte = services.acte_envoyer(acte, acteur=instructeur)
        dates[acte.pk] = i
        compte["envoyees"] += 1
        if acte.porteur_id in demo or i % 3 == 2:
            continue
        representant = representants[acte.porteur_id]
        acte = services.acte_signer(
            acte,
            user=representant,
            partie=PartieSignataire.PORTEUR,
            nom=f"{acte.porteur.representant_prenom} {acte.porteur.representant_nom}",
            qualite=acte.porteur.representant_qualite,
            version=acte.version_document,
            user_agent="Données de démonstration",
        )
        compte["signees_porteur"] += 1
        if i % 3 == 0:
            nom, qualite, _adresse = SIGNATAIRES["etat"]
            services.acte_signer(
                acte,
                user=signataire,
                partie=PartieSignataire.FINANCEUR,
                nom=nom,
                qualite=qualite,
                version=acte.version_document,
                user_agent="Données de démonstration",
            )
            compte["signees"] += 1
    _dater_en_2015(dates)
    # What the signatures set off elsewhere (the first payments due) happened then too, not today.
    TransitionLog.objects.filter(pk__gt=debut_logs, date__year__gt=2015).update(date=_en_2015(30, 9))
    # The 2015 notices were "sent" long ago: the outbox rows are archived, not sent again to the demo addresses.
    Courriel.objects.filter(pk__gt=debut_courriels).update(statut=StatutCourriel.ENVOYE)
    if not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        from subventions.conventions.tasks import conventions_batir_campagne

        campagne_id = campagne.pk
        transaction.on_commit(lambda: conventions_batir_campagne.delay(campagne_id))
    return compte


def _dater_en_2015(rangs: dict[int, int]) -> None:
    """Signatures and sending in July 2015, spread over the month, in the order of the numbers."""
    ct = ContentType.objects.get_for_model(ActeAttribution)
    logs = list(TransitionLog.objects.filter(content_type=ct, object_id__in=rangs))
    for log in logs:
        rang = rangs[log.object_id]
        etape = {"generer": 0, "envoyer": 1, "signer_porteur": 2, "signer_financeur": 3}.get(log.transition, 0)
        log.date = _en_2015(rang % 20, etape * 24 + 2)
    TransitionLog.objects.bulk_update(logs, ["date"], batch_size=500)
    signatures = list(Signature.objects.filter(acte_id__in=rangs))
    for s in signatures:
        s.signe_le = _en_2015(rangs[s.acte_id] % 20, (2 if s.partie == PartieSignataire.PORTEUR else 3) * 24 + 2)
    Signature.objects.bulk_update(signatures, ["signe_le"], batch_size=500)
    actes = list(ActeAttribution.objects.filter(pk__in=rangs))
    for a in actes:
        a.envoyee_le = _en_2015(rangs[a.pk] % 20, 26)
        if a.executoire_le:
            a.executoire_le = _en_2015(rangs[a.pk] % 20, 74)
    ActeAttribution.objects.bulk_update(actes, ["envoyee_le", "executoire_le"], batch_size=500)
    # The demandes became conventionnées when their convention was signed, not today.
    demandes, date_de = [], {}
    for a in actes:
        if a.executoire_le:
            for demande in Demande.objects.filter(lignes_financement__acte_ligne__acte=a).distinct():
                demande.modifie_le = date_de[demande.pk] = a.executoire_le
                demandes.append(demande)
    Demande.objects.bulk_update(demandes, ["modifie_le"], batch_size=500)
    logs = list(
        TransitionLog.objects.filter(
            content_type=ContentType.objects.get_for_model(Demande), object_id__in=date_de, transition="conventionner"
        )
    )
    for log in logs:
        log.date = date_de[log.object_id]
    TransitionLog.objects.bulk_update(logs, ["date"], batch_size=500)
