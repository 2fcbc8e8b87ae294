"""The actes attributifs: grouping (one per financeur, porteur and exercice; avenants once signed; CPO yearly
avenants), numbering, PDF generation and blocked cases, sending, signatures and notification."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils.translation import gettext as _
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from associations.enums import RoleMembre
from associations.models import Porteur
from subventions.campagnes.models import Campagne
from subventions.comptes.enums import Role
from subventions.conventions.models import (
    STATUTS_EXECUTOIRES,
    STATUTS_MODIFIABLES,
    ActeAttribution,
    ActeLigne,
    CompteurActes,
    ModeSignature,
    NatureActe,
    PartieSignataire,
    Signature,
    StatutActe,
)
from subventions.conventions.signals import acte_executoire
from subventions.demandes.enums import StatutDemande, StatutLigne
from subventions.demandes.models import Demande, LigneFinancement
from subventions.referentiel.models import Financeur
from subventions.templatetags.subventions_tags import formater_montant
from workflows.documents import document_courant, document_enregistrer
from workflows.services import courriel_programmer
from workflows.transitions import TransitionRefusee, transition_appliquer

NATURE_DOCUMENT = "acte_attributif"

ZERO = Decimal("0.00")


def numero_acte_attribuer(*, financeur: Financeur, exercice: int) -> str:
    """Next number for the financeur and year (ETAT-2015-0001), under the counter's row lock: call it inside the
    transaction that saves the document, so that a rollback gives the number back and no two documents share one."""
    try:
        with transaction.atomic():
            CompteurActes.objects.get_or_create(financeur=financeur, exercice=exercice)
    except IntegrityError:
        pass  # created meanwhile by a concurrent run
    compteur = CompteurActes.objects.select_for_update().get(financeur=financeur, exercice=exercice)
    compteur.dernier += 1
    compteur.save(update_fields=["dernier"])
    return f"{financeur.code.upper()}-{exercice}-{compteur.dernier:04d}"


def nature_pour(*, financeur: Financeur, total: Decimal) -> str:
    """Above the financeur's threshold (or if it always conventions, or signs CPOs): a convention; otherwise an
    arrêté."""
    if financeur.toujours_convention or financeur.mode_cpo or total > financeur.seuil_convention:
        return NatureActe.CONVENTION
    return NatureActe.ARRETE


def lignes_a_conventionner(*, campagne: Campagne, financeur: Financeur | None = None):
    """Granted lines (accordée, amount > 0) of decided demandes (no longer on an open séance's agenda) that are in
    no document yet."""
    lignes = LigneFinancement.objects.filter(
        demande__campagne=campagne,
        statut=StatutLigne.ACCORDEE,
        montant_accorde__gt=0,
        acte_ligne__isnull=True,
    ).exclude(demande__statut=StatutDemande.INSCRITE)
    if financeur is not None:
        lignes = lignes.filter(financeur=financeur)
    return lignes


def _document_de_base(*, financeur: Financeur, porteur: Porteur, campagne: Campagne) -> tuple[ActeAttribution, bool]:
    """The (non-avenant) document of the group, locked; created (numbered) if missing. For a financeur in CPO mode,
    the convention pluriannuelle that covers the exercice. The unique constraint decides between two overlapping runs:
    the loser's insert fails in its savepoint and it locks the winner's row."""
    exercice = campagne.exercice
    commun = {"financeur": financeur, "porteur": porteur, "est_avenant": False}
    if financeur.mode_cpo:
        cpo = (
            ActeAttribution.objects.select_for_update()
            .filter(**commun, annee_fin__isnull=False, exercice__lte=exercice, annee_fin__gte=exercice)
            .exclude(statut=StatutActe.RESILIEE)
            .first()
        )
        if cpo is not None:
            return cpo, False
    existant = ActeAttribution.objects.select_for_update().filter(**commun, exercice=exercice).first()
    if existant is not None:
        return existant, False
    try:
        with transaction.atomic():
            acte = ActeAttribution.objects.create(
                campagne=campagne,
                exercice=exercice,
                annee_fin=exercice + financeur.duree_cpo - 1 if financeur.mode_cpo else None,
                nature=nature_pour(financeur=financeur, total=ZERO),
                numero=numero_acte_attribuer(financeur=financeur, exercice=exercice),
                **commun,
            )
            return acte, True
    except IntegrityError:
        return ActeAttribution.objects.select_for_update().get(**commun, exercice=exercice), False


def _avenant_ouvert(*, base: ActeAttribution, campagne: Campagne) -> tuple[ActeAttribution, bool]:
    """The unsigned avenant of the exercice to a signed document (or to a CPO of an earlier year), or a new one. The
    base row is locked by the caller, so two runs cannot both create one."""
    avenant = (
        base.avenants.select_for_update()
        .filter(statut__in=STATUTS_MODIFIABLES, exercice=campagne.exercice)
        .order_by("pk")
        .first()
    )
    if avenant is not None:
        return avenant, False
    avenant = ActeAttribution.objects.create(
        financeur=base.financeur,
        porteur=base.porteur,
        campagne=campagne,
        exercice=campagne.exercice,
        nature=base.nature,
        numero=numero_acte_attribuer(financeur=base.financeur, exercice=campagne.exercice),
        est_avenant=True,
        parent=base,
    )
    return avenant, True


@transaction.atomic
def _groupe_batir(*, financeur: Financeur, porteur: Porteur, campagne: Campagne) -> set[tuple[int, bool]]:
    """One (financeur, porteur, exercice) in its own transaction: returns {(acte pk, created)} for what changed."""
    base, base_cree = _document_de_base(financeur=financeur, porteur=porteur, campagne=campagne)
    # Read under the lock: a concurrent run that got here first has already taken its lines.
    lignes = list(
        lignes_a_conventionner(campagne=campagne, financeur=financeur)
        .filter(demande__porteur=porteur)
        .order_by("demande__numero", "pk")
    )
    if not lignes:
        return {(base.pk, True)} if base_cree else set()
    if base.est_modifiable and base.exercice == campagne.exercice:
        acte, cree = base, base_cree
    else:
        # Signed (or a CPO of an earlier year: its annual financial avenant).
        acte, cree = _avenant_ouvert(base=base, campagne=campagne)
    ActeLigne.objects.bulk_create(
        [ActeLigne(acte=acte, ligne=ligne, montant=ligne.montant_accorde) for ligne in lignes]
    )
    acte.montant_total = acte.lignes.aggregate(total=Sum("montant"))["total"] or ZERO
    # The threshold looks at everything granted to the porteur by this financeur this year (avenants included).
    total_groupe = (
        ActeLigne.objects.filter(
            acte__financeur=financeur, acte__porteur=porteur, acte__exercice=campagne.exercice
        ).aggregate(total=Sum("montant"))["total"]
        or ZERO
    )
    # Only an unsigned document is re-evaluated: an arrêté not yet notified that crosses the threshold becomes a
    # convention. Lines are only ever added, so a convention never turns back into an arrêté.
    if acte.nature == NatureActe.ARRETE or cree:
        acte.nature = nature_pour(financeur=financeur, total=total_groupe)
    acte.a_generer = True
    acte.save(update_fields=["montant_total", "nature", "a_generer", "maj_le"])
    return {(acte.pk, cree)}


# --- Generation of the PDF, blocked cases ------------------------------------------------------------------------


def motif_blocage(acte: ActeAttribution) -> str:
    """Why the document cannot be issued now ("" if it can): the porteur's bank details and représentant légal."""
    porteur = acte.porteur
    motifs = []
    if not porteur.iban:
        motifs.append(_("le porteur n'a pas renseigné d'IBAN"))
    else:
        try:
            IBAN(porteur.iban)
        except SchwiftyException:
            motifs.append(_("l'IBAN du porteur est invalide"))
    if not (porteur.representant_nom.strip() and porteur.representant_prenom.strip()):
        motifs.append(_("le représentant légal du porteur n'est pas renseigné"))
    elif (
        acte.a_signer and not porteur.membres.filter(role=RoleMembre.REPRESENTANT_LEGAL, user__is_active=True).exists()
    ):
        motifs.append(_("aucun représentant légal n'a de compte pour signer en ligne"))
    if not motifs:
        return ""
    texte = " ; ".join(str(m) for m in motifs)
    return texte[0].upper() + texte[1:] + "."


def acte_generer(acte: ActeAttribution, *, acteur=None, forcer: bool = False) -> ActeAttribution:
    """Render and store the next version of the document, or mark it bloquée with the reason. Does nothing when the
    current version is up to date (unless `forcer`: the porteur's or financeur's details changed) or the same
    blocking reason is already recorded (idempotent)."""

    with transaction.atomic():
        # Locked first: a concurrent run that rendered it meanwhile is seen, and nothing is rendered twice.
        acte = (
            ActeAttribution.objects.select_for_update(of=("self",))
            .select_related("porteur", "financeur", "parent")
            .get(pk=acte.pk)
        )
        return _acte_generer_verrouille(acte, acteur=acteur, forcer=forcer)


def _acte_generer_verrouille(acte: ActeAttribution, *, acteur, forcer: bool) -> ActeAttribution:
    from subventions.conventions.pdf import acte_pdf, nom_fichier

    if not acte.est_modifiable:
        return acte
    motif = motif_blocage(acte)
    if motif:
        if acte.statut == StatutActe.BLOQUEE and acte.motif_blocage == motif:
            return acte

        def noter_motif(a: ActeAttribution) -> None:
            a.motif_blocage = motif

        return transition_appliquer(
            obj=acte,
            transition="bloquer",
            acteur=acteur,
            commentaire=motif,
            avant=noter_motif,
            verifier_permission=acteur is not None,
        )
    if acte.statut == StatutActe.GENEREE and not acte.a_generer and not forcer:
        return acte

    def enregistrer(a: ActeAttribution) -> None:
        document = document_enregistrer(obj=a, nature=NATURE_DOCUMENT, contenu=acte_pdf(a), nom=nom_fichier(a))
        a.version_document = document.version
        a.a_generer = False
        a.save(update_fields=["version_document", "a_generer", "maj_le"])

    deja_envoyee = acte.statut == StatutActe.ENVOYEE
    acte = transition_appliquer(
        obj=acte, transition="generer", acteur=acteur, apres=enregistrer, verifier_permission=acteur is not None
    )
    if deja_envoyee:
        # New lines joined a document awaiting signature: the new version must be sent again.
        acte = acte_envoyer(acte, acteur=acteur, commentaire=_("Nouvelle version envoyée (actions ajoutées)."))
    return acte


def actes_a_generer(*, campagne: Campagne, financeur: Financeur | None = None):
    """Documents of the campagne whose PDF is missing or stale, and blocked ones (their data may have been fixed)."""
    qs = ActeAttribution.objects.filter(campagne=campagne, statut__in=STATUTS_MODIFIABLES).filter(
        Q(a_generer=True) | Q(statut=StatutActe.BLOQUEE)
    )
    if financeur is not None:
        qs = qs.filter(financeur=financeur)
    return qs.order_by("pk")


def conventions_batir(
    *, campagne: Campagne, financeur: Financeur | None = None, generer: bool = True
) -> dict[str, int]:
    """Put every granted line not yet in a document into its (financeur, porteur, exercice) document: the unsigned
    one (created if needed) or, once signed, an avenant; then render the PDF of every document that changed (or mark
    it bloquée with the reason). Idempotent, and safe when two runs overlap: each group runs in its own transaction
    under the lock of its document, numbers are taken under the counter's row lock, each generation under the
    document's lock.

    Returns how many documents were created, updated (lines added or a new PDF version) and left untouched (in the
    scope), and how many are bloquées."""
    groupes = list(
        lignes_a_conventionner(campagne=campagne, financeur=financeur)
        .values_list("financeur_id", "demande__porteur_id")
        .order_by("financeur_id", "demande__porteur_id")
        .distinct()
    )
    financeurs = Financeur.objects.in_bulk({f for f, _ in groupes})
    porteurs = Porteur.objects.in_bulk({p for _, p in groupes})
    crees, maj = set(), set()
    for financeur_id, porteur_id in groupes:
        for pk, cree in _groupe_batir(
            financeur=financeurs[financeur_id], porteur=porteurs[porteur_id], campagne=campagne
        ):
            (crees if cree else maj).add(pk)
    if generer:
        for acte in actes_a_generer(campagne=campagne, financeur=financeur):
            avant = (acte.statut, acte.version_document, acte.motif_blocage)
            apres = acte_generer(acte)
            if (apres.statut, apres.version_document, apres.motif_blocage) != avant:
                maj.add(acte.pk)
    maj -= crees
    portee = ActeAttribution.objects.filter(exercice=campagne.exercice, campagne=campagne)
    if financeur is not None:
        portee = portee.filter(financeur=financeur)
    inchanges = portee.exclude(pk__in=crees | maj).count()
    bloquees = portee.filter(statut=StatutActe.BLOQUEE).count()
    return {"crees": len(crees), "maj": len(maj), "inchanges": inchanges, "bloquees": bloquees}


def actes_debloquer(*, porteur_id: int) -> int:
    """After a porteur's data changed: issue its blocked documents whose reason is gone. Returns how many."""
    debloques = 0
    for acte in ActeAttribution.objects.filter(porteur_id=porteur_id, statut=StatutActe.BLOQUEE).order_by("pk"):
        if acte_generer(acte).statut != StatutActe.BLOQUEE:
            debloques += 1
    return debloques


# --- Sending, signatures, notification --------------------------------------------------------------------------


def _destinataires(porteur: Porteur) -> list[str]:
    emails = {
        m.user.email for m in porteur.membres.select_related("user").filter(user__is_active=True) if m.user.email
    }
    if porteur.representant_email:
        emails.add(porteur.representant_email)
    return sorted(emails)


def _lien(nom: str, *args) -> str:
    site = getattr(settings, "SUBVENTIONS_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
    return site + reverse(nom, args=args)


def acte_envoyer(acte: ActeAttribution, *, acteur, commentaire: str = "") -> ActeAttribution:
    """Send a generated convention (or avenant) to the porteur for signature; its members are emailed."""

    def notifier(a: ActeAttribution) -> None:
        destinataires = _destinataires(a.porteur)
        if not destinataires:
            return
        courriel_programmer(
            destinataires=destinataires,
            sujet=_("%(libelle)s %(numero)s à signer") % {"libelle": a.libelle, "numero": a.numero},
            texte=_(
                "Bonjour,\n\n%(financeur)s vous adresse pour signature le document %(numero)s (%(libelle)s, "
                "exercice %(exercice)s, %(montant)s).\n\nLe représentant légal de %(porteur)s peut le lire et le "
                "signer en ligne, ou déposer l'exemplaire signé, depuis votre espace : %(lien)s\n\nCordialement."
            )
            % {
                "financeur": a.financeur.nom,
                "numero": a.numero,
                "libelle": a.libelle.lower(),
                "exercice": a.exercice,
                "montant": formater_montant(a.montant_total),
                "porteur": a.porteur.nom,
                "lien": _lien("conventions:porteur_acte", a.porteur_id, a.pk),
            },
            modele=f"conventions.envoi.{a.pk}.v{a.version_document}",
        )

    return transition_appliquer(
        obj=acte,
        transition="envoyer",
        acteur=acteur,
        commentaire=commentaire,
        apres=notifier,
        verifier_permission=acteur is not None,
    )


def actes_envoyer(*, actes, acteur) -> tuple[int, list[str]]:
    """Bulk "envoyer pour signature": each generated convention in its own transaction. Returns (sent, errors)."""
    envoyes, erreurs = 0, []
    for acte in actes:
        try:
            acte_envoyer(acte, acteur=acteur)
            envoyes += 1
        except TransitionRefusee as exc:
            erreurs.append(f"{acte.numero} : {exc}")
    return envoyes, erreurs


def _rendre_executoire(acte: ActeAttribution, acteur) -> None:
    """Inside the signing transaction: the demandes become conventionnées and the finance app is told."""
    demandes = Demande.objects.filter(
        lignes_financement__acte_ligne__acte=acte, statut=StatutDemande.VALIDEE
    ).distinct()
    for demande in demandes:
        transition_appliquer(obj=demande, transition="conventionner", acteur=acteur, verifier_permission=False)
    acte_executoire.send(sender=ActeAttribution, acte=acte, acteur=acteur)


def acte_signer(
    acte: ActeAttribution,
    *,
    user,
    partie: str,
    nom: str,
    qualite: str,
    version: int,
    ip: str | None = None,
    user_agent: str = "",
    scan: bytes | None = None,
    scan_nom: str = "",
) -> ActeAttribution:
    """Record a party's signature of the version the signer read (`version`): online (name, role, the checkbox was
    ticked by the view) or by depositing the signed copy (`scan`, a checked PDF). The porteur signs first, then the
    financeur's signataire; the second signature makes the document executory. A newer version than the one read is
    refused, so nobody signs what they did not see."""
    transition = "signer_porteur" if partie == PartieSignataire.PORTEUR else "signer_financeur"
    nom, qualite = nom.strip(), qualite.strip()
    if not nom or not qualite:
        raise TransitionRefusee(_("Indiquez le nom et la qualité du signataire."))

    def verifier(a: ActeAttribution) -> None:
        if a.version_document != version or a.a_generer:
            raise TransitionRefusee(
                _("Le document a changé depuis que vous l'avez ouvert : relisez la nouvelle version avant de signer.")
            )

    def enregistrer(a: ActeAttribution) -> None:
        document = document_courant(a, NATURE_DOCUMENT)
        depot = None
        if scan is not None:
            depot = document_enregistrer(
                obj=a, nature=f"{NATURE_DOCUMENT}_signee_{partie}", contenu=scan, nom=scan_nom or "signe.pdf"
            )
        Signature.objects.create(
            acte=a,
            partie=partie,
            document=document,
            sha256=document.sha256,
            mode=ModeSignature.SCAN if scan is not None else ModeSignature.EN_LIGNE,
            scan=depot,
            user=user,
            nom=nom,
            qualite=qualite,
            ip=ip,
            user_agent=user_agent[:400],
        )
        if a.statut in STATUTS_EXECUTOIRES:
            _rendre_executoire(a, user)
        else:
            _notifier_signataires(a)

    return transition_appliquer(
        obj=acte,
        transition=transition,
        acteur=user,
        avant=verifier,
        apres=enregistrer,
        extra={
            "nom": nom,
            "qualite": qualite,
            "ip": ip,
            "user_agent": user_agent[:400],
            "mode": "scan" if scan is not None else "en_ligne",
            "version": version,
        },
        commentaire=_("Signé par %(nom)s, %(qualite)s.") % {"nom": nom, "qualite": qualite},
    )


def _notifier_signataires(acte: ActeAttribution) -> None:
    """The porteur signed: the financeur's signataires are told a document awaits their signature."""
    from subventions.comptes.models import Habilitation

    habs = (
        Habilitation.objects.filter(role=Role.SIGNATAIRE, actif=True, user__is_active=True)
        .filter(Q(tous_financeurs=True) | Q(financeurs=acte.financeur))
        .select_related("user")
        .distinct()
    )
    destinataires = sorted({h.user.email for h in habs})
    if not destinataires:
        return
    courriel_programmer(
        destinataires=destinataires,
        sujet=_("%(numero)s signé par le porteur : à contresigner") % {"numero": acte.numero},
        texte=_(
            "Bonjour,\n\n%(porteur)s a signé le document %(numero)s (%(montant)s). Il attend votre signature : "
            "%(lien)s\n\nCordialement."
        )
        % {
            "porteur": acte.porteur.nom,
            "numero": acte.numero,
            "montant": formater_montant(acte.montant_total),
            "lien": _lien("conventions:acte", acte.pk),
        },
        modele=f"conventions.a_contresigner.{acte.pk}",
    )


def acte_notifier(acte: ActeAttribution, *, acteur) -> ActeAttribution:
    """An arrêté attributif is signed by the financeur and notified to the porteur: it is executory at once."""

    def apres(a: ActeAttribution) -> None:
        _rendre_executoire(a, acteur)
        destinataires = _destinataires(a.porteur)
        if destinataires:
            courriel_programmer(
                destinataires=destinataires,
                sujet=_("Notification de l'arrêté %(numero)s") % {"numero": a.numero},
                texte=_(
                    "Bonjour,\n\n%(financeur)s vous notifie l'arrêté attributif %(numero)s (%(montant)s). Il est "
                    "disponible dans votre espace : %(lien)s\n\nCordialement."
                )
                % {
                    "financeur": a.financeur.nom,
                    "numero": a.numero,
                    "montant": formater_montant(a.montant_total),
                    "lien": _lien("conventions:porteur_acte", a.porteur_id, a.pk),
                },
                modele=f"conventions.notification.{a.pk}",
            )

    return transition_appliquer(obj=acte, transition="notifier", acteur=acteur, apres=apres)


def acte_resilier(acte: ActeAttribution, *, acteur, motif: str) -> ActeAttribution:
    """The financeur's signataire ends the document (the motif is kept in the history)."""
    return transition_appliquer(obj=acte, transition="resilier", acteur=acteur, commentaire=motif)
