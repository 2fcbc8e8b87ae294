"""Writes on demandes: create, renew, deposit (numbering, snapshot, récépissé, notification)."""

from __future__ import annotations

import hashlib
import json
import logging
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from associations.enums import RoleMembre
from associations.models import Porteur
from subventions.campagnes.models import Campagne
from subventions.demandes.etapes import demande_manques, relation_lue
from subventions.demandes.models import (
    CompteurDossiers,
    Demande,
    Indicateur,
    LigneBudget,
    LigneFinancement,
    PieceDemande,
)
from workflows.transitions import TransitionRefusee, transition_appliquer

ROLES_EDITION = (RoleMembre.REPRESENTANT_LEGAL, RoleMembre.GESTIONNAIRE)

logger = logging.getLogger(__name__)


class DepotRefuse(TransitionRefusee):
    """The deposit cannot happen; the message (French) says why."""

    def __init__(self, message: str, manques=None):
        super().__init__(message)
        self.manques = manques or []


def _role(porteur: Porteur, user) -> str | None:
    return porteur.membres.filter(user=user).values_list("role", flat=True).first()


def _verifier_edition(porteur: Porteur, user) -> None:
    if _role(porteur, user) not in ROLES_EDITION:
        raise PermissionDenied(_("Seuls les représentants légaux et gestionnaires peuvent préparer une demande."))


def _verifier_campagne_ouverte(campagne: Campagne) -> None:
    maintenant = timezone.now()
    if maintenant < campagne.ouverture:
        raise DepotRefuse(
            _("La campagne n'ouvre que le %(date)s (heure de Paris).")
            % {"date": date_format(timezone.localtime(campagne.ouverture), "DATETIME_FORMAT")}
        )
    if maintenant >= campagne.cloture:
        raise DepotRefuse(
            _("La campagne est close depuis le %(date)s (heure de Paris) : plus aucun dépôt n'est possible.")
            % {"date": date_format(timezone.localtime(campagne.cloture), "DATETIME_FORMAT")}
        )


@transaction.atomic
def demande_creer(*, porteur: Porteur, campagne: Campagne, user, intitule: str) -> Demande:
    _verifier_edition(porteur, user)
    _verifier_campagne_ouverte(campagne)
    demande = Demande(campagne=campagne, porteur=porteur, intitule=intitule.strip(), cree_par=user)
    demande.full_clean()
    demande.save()
    LigneFinancement.objects.bulk_create(
        [LigneFinancement(demande=demande, financeur=f) for f in campagne.financeurs.order_by("nom")]
    )
    return demande


@transaction.atomic
def demande_renouveler(*, origine: Demande, campagne: Campagne, user) -> Demande:
    """A new brouillon from a previous year's action: content copied; decisions and amounts granted are not."""
    from subventions.demandes.enums import TypeDemande

    demande = demande_creer(porteur=origine.porteur, campagne=campagne, user=user, intitule=origine.intitule)
    champs = [
        "nature", "objet", "duree", "objectifs_action", "description", "public_nombre", "public_age_min",
        "public_age_max", "public_part_qpv", "public_description", "lieu", "moyens_benevoles", "moyens_salaries",
        "moyens_etpt", "territoire_id",
    ]  # fmt: skip
    for champ in champs:
        setattr(demande, champ, getattr(origine, champ))
    demande.origine = origine
    demande.type_demande = TypeDemande.RENOUVELLEMENT
    demande.save()
    demande.qpvs.set(origine.qpvs.all())
    eligibles = set(campagne.objectifs.values_list("pk", flat=True))
    demande.objectifs.set([o for o in origine.objectifs.all() if not eligibles or o.pk in eligibles])
    Indicateur.objects.bulk_create(
        [Indicateur(demande=demande, nom=i.nom, cible=i.cible, ordre=i.ordre) for i in origine.indicateurs.all()]
    )
    LigneBudget.objects.bulk_create(
        [
            LigneBudget(demande=demande, compte=o.compte, sens=o.sens, detail=o.detail, montant=o.montant)
            for o in origine.lignes_budget.all()
        ]
    )
    # Amounts asked are copied only for financeurs that take part in the new campagne.
    anciens = {ligne.financeur_id: ligne.montant_demande for ligne in origine.lignes_financement.all()}
    for ligne in demande.lignes_financement.all():
        if ligne.financeur_id in anciens:
            ligne.montant_demande = anciens[ligne.financeur_id]
            ligne.save(update_fields=["montant_demande"])
    return demande


def numero_attribuer(campagne: Campagne) -> str:
    """Next dossier number of the campagne (e.g. 2015-000123), under a row lock: no gap on commit, no duplicate.

    One UPDATE … RETURNING increments the counter and locks its row until the caller's commit: every deposit of
    the campagne waits for that lock, so it is taken last and held for as few statements as possible. The row is
    created by the first deposit of the campagne."""
    table = connection.ops.quote_name(CompteurDossiers._meta.db_table)
    sql = f"UPDATE {table} SET dernier = dernier + 1 WHERE campagne_id = %s RETURNING dernier"  # noqa: S608
    with connection.cursor() as curseur:
        curseur.execute(sql, [campagne.pk])
        ligne = curseur.fetchone()
        if ligne is None:
            try:
                with transaction.atomic():
                    CompteurDossiers.objects.create(campagne=campagne)
            except IntegrityError:
                pass  # created meanwhile by a concurrent deposit
            curseur.execute(sql, [campagne.pk])
            ligne = curseur.fetchone()
    return f"{campagne.exercice}-{ligne[0]:06d}"


def identification_porteur(porteur: Porteur) -> dict:
    champs = [
        "nom", "sigle", "siret", "siren", "rna", "forme_juridique", "adresse", "code_postal", "commune", "telephone",
        "email", "representant_nom", "representant_prenom", "representant_qualite", "contact_nom", "contact_prenom",
        "contact_email", "contact_telephone", "agrements", "utilite_publique", "benevoles", "salaries", "volontaires",
        "adherents", "iban", "bic",
    ]  # fmt: skip
    data = {c: getattr(porteur, c) for c in champs}
    for c in ("etpt", "budget_annee_precedente", "budget_annee_courante"):
        valeur = getattr(porteur, c)
        data[c] = None if valeur is None else str(valeur)
    return data


CHAMPS_ACTION_DOSSIER = (
    "intitule", "objectifs_action", "description", "public_nombre", "public_part_qpv", "lieu", "date_debut",
    "date_fin", "nature", "type_demande", "objet", "duree",
)  # fmt: skip


def contenu_dossier(demande: Demande) -> dict:
    """The filed content as plain JSON values: fingerprinted at deposit and kept in the history of each deposit."""
    # Read through the prefetch cache when there is one (the deposit loads every relation once for the completeness
    # check, this snapshot and the notice).
    return contenu_dossier_de(
        demande,
        exercice=demande.campagne.exercice,
        qpvs=[q.code for q in demande.qpvs.all()],
        objectifs=[o.code for o in demande.objectifs.all()],
        indicateurs=[(i.nom, i.cible) for i in demande.indicateurs.all()],
        budget=[(ligne.compte, ligne.montant) for ligne in demande.lignes_budget.all()],
        financeurs=[
            (lf.financeur.code, lf.montant_demande) for lf in relation_lue(demande, "lignes_financement", "financeur")
        ],
        pieces=[p.piece.sha256 for p in relation_lue(demande, "pieces", "piece")],
    )


def contenu_dossier_de(
    demande: Demande, *, exercice, qpvs, objectifs, indicateurs, budget, financeurs, pieces
) -> dict:
    """`contenu_dossier` from values already at hand (codes, (nom, cible), (compte, montant), (code financeur,
    montant), sha256 of the pièces): the demo's bulk seeds fingerprint thousands of demandes without a query each."""
    return {
        "numero": demande.numero,
        "campagne": exercice,
        "identification": demande.identification,
        "action": {c: str(getattr(demande, c) or "") for c in CHAMPS_ACTION_DOSSIER},
        "qpv": sorted(qpvs),
        "objectifs": sorted(objectifs),
        "indicateurs": [[nom, cible] for nom, cible in indicateurs],
        "budget": {compte: str(montant) for compte, montant in budget},
        "financeurs": {code: str(montant) for code, montant in financeurs},
        "pieces": sorted(pieces),
        "declaration": [demande.declaration_nom, demande.declaration_qualite, str(demande.declaration_date)],
    }


def empreinte_dossier(demande: Demande) -> str:
    """SHA-256 of the filed content (canonical JSON): printed on the récépissé, it proves what was deposited."""
    return empreinte_contenu(contenu_dossier(demande))


def empreinte_contenu(contenu: dict) -> str:
    return hashlib.sha256(json.dumps(contenu, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def demande_deposer(
    *, demande: Demande, user, nom: str, qualite: str, engagement_republicain: bool, exactitude: bool
) -> Demande:
    """Deposit: completeness, closing date (Europe/Paris), déclaration by a représentant légal, number, récépissé.

    Safe against double submission: the row is locked and only a brouillon can be deposited, so two tabs or a
    replayed request give one deposited demande and one récépissé.

    The dossier number comes from one counter row per campagne, locked until commit (no gap, no duplicate): every
    deposit of the campagne waits for that lock, so the transaction that holds it stays short. The number is taken
    last, once the snapshot is read, and the récépissé (a PDF, the slowest part) is rendered after the commit by
    the task queue (`recepisse_programmer`; `recepisse_assurer` is idempotent, and the récépissé page renders it
    too if it is still missing).
    """
    from subventions.demandes.tasks import courriel_depot_programmer

    if not (engagement_republicain and exactitude):
        raise DepotRefuse(
            _("La déclaration sur l'honneur, dont le respect du contrat d'engagement républicain, doit être cochée.")
        )
    if not nom.strip() or not qualite.strip():
        raise DepotRefuse(_("Indiquez le nom et la qualité du représentant légal qui signe la déclaration."))

    # The transition log is append-only: what it keeps of the deposit (the filed content) is known before the
    # transition writes its row, so it is put in the details given to it (filled by `avant`, on the locked row).
    details: dict = {"contenu": None}

    def avant(verrouillee: Demande) -> None:
        _verifier_campagne_ouverte(verrouillee.campagne)
        manques = demande_manques(verrouillee)
        if manques:
            raise DepotRefuse(_("Le dossier est incomplet."), manques=manques)
        # Déclaration and snapshot, saved with the state by the transition (same transaction).
        verrouillee.depose_par = user
        verrouillee.declaration_nom = nom.strip()
        verrouillee.declaration_qualite = qualite.strip()
        verrouillee.declaration_date = timezone.localdate()
        verrouillee.declaration_par = user
        verrouillee.declaration_engagement_republicain = True
        verrouillee.declaration_exactitude = True
        verrouillee.identification = identification_porteur(verrouillee.porteur)
        contenu = contenu_dossier(verrouillee)
        # Last: the campagne's counter stays locked from here to the commit.
        verrouillee.numero = contenu["numero"] = numero_attribuer(verrouillee.campagne)
        verrouillee.depose_le = timezone.now()
        verrouillee.empreinte = empreinte_contenu(contenu)
        details["contenu"] = contenu

    def apres(deposee: Demande) -> None:
        # The notice is written in the outbox inside the deposit transaction: a task queue that is down
        # delays the email (the outbox re-queues it), it never fails a deposit that succeeded.
        courriel_depot_programmer(demande_id=deposee.pk, verrouillee=deposee)

    # The locked row comes with everything the completeness check, the snapshot and the notice read: one query per
    # relation for the three of them.
    depuis = Demande.objects.select_related("campagne", "porteur").prefetch_related(
        "qpvs",
        "objectifs",
        "indicateurs",
        "lignes_budget",
        Prefetch("lignes_financement", queryset=LigneFinancement.objects.select_related("financeur")),
        Prefetch("pieces", queryset=PieceDemande.objects.select_related("piece")),
        "campagne__pieces_requises",
    )
    deposee = transition_appliquer(
        obj=demande, transition="deposer", acteur=user, extra=details, avant=avant, apres=apres, depuis=depuis
    )
    transaction.on_commit(lambda: recepisse_programmer(deposee.pk))
    return deposee


def recepisse_programmer(demande_id: int) -> None:
    """Queue the rendering of a récépissé (after the deposit's commit). The PDF is the costliest part of a deposit;
    in the task queue it no longer holds a web worker during the rush of the closing date. Nothing is lost if the
    queue is down: the demande page offers the download all the same and `recepisse_assurer` renders it then."""
    from subventions.demandes.tasks import produire_recepisse

    try:
        produire_recepisse.delay(demande_id)
    except Exception:  # noqa: BLE001 - any broker error; the récépissé is rendered when first downloaded
        logger.warning(
            "Récépissé de la demande %s non mis en file : il sera produit au premier téléchargement.",
            demande_id,
            exc_info=True,
        )


def recepisse_assurer(demande: Demande):
    """The récépissé of a deposited demande: rendered and stored once (under the demande's row lock), returned as
    it is on later calls. Returns the Document, or None for a demande not deposited."""
    from subventions.demandes.pdf import recepisse_pdf
    from workflows.documents import document_courant, document_enregistrer

    existant = document_courant(demande, "recepisse")
    if existant is not None or not demande.numero:
        return existant
    with transaction.atomic():
        verrouillee = (
            Demande.objects.select_for_update(of=("self",)).select_related("campagne", "porteur").get(pk=demande.pk)
        )
        existant = document_courant(verrouillee, "recepisse")
        if existant is not None or not verrouillee.numero:
            return existant
        return document_enregistrer(
            obj=verrouillee,
            nature="recepisse",
            contenu=recepisse_pdf(verrouillee),
            nom=f"recepisse-{verrouillee.numero}.pdf",
        )


# --- Recevabilité and instruction (instructeurs) -----------------------------------------------------------------


def demande_demander_complements(*, demande: Demande, user, message: str, echeance) -> Demande:
    """Ask the porteur for complements with a deadline; the porteur may edit and deposit again."""
    if not message.strip():
        raise TransitionRefusee(_("Indiquez ce qui manque : le porteur recevra ce message."))
    if echeance is None or echeance <= timezone.localdate():
        raise TransitionRefusee(_("L'échéance des compléments doit être postérieure à aujourd'hui."))

    def apres(d: Demande) -> None:
        from subventions.demandes.notifications import notifier_complements

        d.echeance_complements = echeance
        d.save(update_fields=["echeance_complements"])
        # Written in the outbox inside the transition's transaction, sent after commit.
        notifier_complements(demande=d, message=message.strip(), echeance=echeance)

    return transition_appliquer(
        obj=demande,
        transition="demander_complements",
        acteur=user,
        commentaire=message.strip(),
        extra={"echeance": echeance.isoformat()},
        apres=apres,
    )


def demande_redeposer(*, demande: Demande, user) -> Demande:
    """The porteur sends back the completed file; completeness and the snapshot are checked and taken again."""

    details: dict = {"contenu": None}  # filled on the locked row before the (append-only) log row is written

    def avant(d: Demande) -> None:
        manques = demande_manques(d)
        if manques:
            raise DepotRefuse(_("Le dossier est incomplet."), manques=manques)
        ancienne = d.empreinte
        precedent = _contenu_depose_precedent(d)
        d.identification = identification_porteur(d.porteur)
        nouveau = contenu_dossier(d)
        d.empreinte = empreinte_contenu(nouveau)
        d.echeance_complements = None
        # The history keeps both versions: what was filed before the complements and what changed since.
        details.update(
            empreinte_avant=ancienne,
            empreinte_apres=d.empreinte,
            contenu=nouveau,
            changements=_changements(precedent, nouveau),
        )

    return transition_appliquer(obj=demande, transition="redeposer", acteur=user, extra=details, avant=avant)


def demande_declarer_recevable(*, demande: Demande, user) -> Demande:
    return transition_appliquer(obj=demande, transition="declarer_recevable", acteur=user)


def demande_declarer_irrecevable(*, demande: Demande, user, motif: str) -> Demande:
    if not motif.strip():
        raise TransitionRefusee(_("Le motif d'irrecevabilité est obligatoire : il est communiqué au porteur."))

    def apres(d: Demande) -> None:
        from subventions.demandes.notifications import notifier_irrecevable

        notifier_irrecevable(demande=d, motif=motif.strip())

    return transition_appliquer(
        obj=demande, transition="declarer_irrecevable", acteur=user, commentaire=motif.strip(), apres=apres
    )


def plafond_financeur(ligne) -> Decimal:
    """The most this financeur may give: its maximum share of the action's total budget, rounded down to the cent."""
    from decimal import ROUND_DOWN

    charges = ligne.demande.totaux()["charges"]
    return (charges * ligne.financeur.part_max / Decimal(100)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def ligne_donner_avis(*, ligne, user, avis: str, montant_propose: Decimal | None, motivation: str, version: int):
    """Avis of one financeur on its line: amount ≤ asked and ≤ its maximum share of the budget. When every line has
    its avis, the demande becomes instruite (same transaction)."""
    from subventions.demandes.enums import Avis

    if avis not in Avis.values:
        raise TransitionRefusee(_("Choisissez un avis : favorable, réservé ou défavorable."))
    if avis == Avis.DEFAVORABLE:
        montant_propose = Decimal("0.00")
    if montant_propose is None or montant_propose < 0:
        raise TransitionRefusee(_("Indiquez le montant proposé (0 € pour un avis défavorable)."))
    if avis != Avis.DEFAVORABLE and montant_propose == 0:
        raise TransitionRefusee(_("Un avis favorable ou réservé propose un montant supérieur à 0 €."))

    def avant(verrouillee) -> None:
        if montant_propose > verrouillee.montant_demande:
            raise TransitionRefusee(
                _("Le montant proposé (%(p)s €) dépasse le montant demandé (%(d)s €).")
                % {"p": montant_propose, "d": verrouillee.montant_demande}
            )
        plafond = plafond_financeur(verrouillee)
        if montant_propose > plafond:
            raise TransitionRefusee(
                _("Le montant proposé dépasse la part maximale de %(f)s (%(t)s %% du budget, soit %(m)s €).")
                % {"f": verrouillee.financeur.nom, "t": verrouillee.financeur.part_max, "m": plafond}
            )
        verrouillee.avis = avis
        verrouillee.montant_propose = montant_propose
        verrouillee.motivation = motivation.strip()
        verrouillee.avis_par = user
        verrouillee.avis_le = timezone.now()

    def apres(avisee) -> None:
        demande = Demande.objects.select_for_update().get(pk=avisee.demande_id)
        if demande.toutes_lignes_avisees:
            transition_appliquer(
                obj=demande, transition="terminer_instruction", acteur=user, verifier_permission=False
            )

    return transition_appliquer(
        obj=ligne,
        transition="donner_avis",
        acteur=user,
        version=version,
        commentaire=motivation.strip(),
        extra={"avis": avis, "montant_propose": str(montant_propose)},
        avant=avant,
        apres=apres,
    )


def _contenu_depose_precedent(demande: Demande) -> dict:
    from workflows.transitions import historique

    for ligne in historique(demande).filter(transition__in=["deposer", "redeposer"]).order_by("-pk"):
        if "contenu" in ligne.extra:
            return ligne.extra["contenu"]
    return {}


def _changements(avant: dict, apres: dict) -> dict:
    """Field by field (one level into sections such as "action" or "budget"): {"action.description": [old, new]}."""
    changes = {}
    for cle in sorted(set(avant) | set(apres)):
        a, b = avant.get(cle), apres.get(cle)
        if isinstance(a, dict) and isinstance(b, dict):
            for sous in sorted(set(a) | set(b)):
                if a.get(sous) != b.get(sous):
                    changes[f"{cle}.{sous}"] = [a.get(sous), b.get(sous)]
        elif a != b:
            changes[cle] = [a, b]
    return changes
