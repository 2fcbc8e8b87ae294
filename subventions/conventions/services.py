"""The actes attributifs: grouping (one per financeur, porteur and exercice; avenants once signed; CPO yearly
avenants), numbering, PDF generation and blocked cases, sending, signatures and notification."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone
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
# Rows per INSERT/UPDATE of the build (SQLite lowers it further to its own parameter limit).
LOT = 1000


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


def _compteur_verrouiller(*, financeur: Financeur, exercice: int) -> CompteurActes:
    """The financeur's numbering counter for the exercice, locked (created first if missing). Every build of a
    (financeur, exercice) takes it before reading anything: overlapping runs take turns, and the later one finds the
    lines already in documents. The lock is held until the caller's transaction ends, so a rollback gives the numbers
    back and the numbering stays gap-free."""
    verrou = CompteurActes.objects.select_for_update().filter(financeur=financeur, exercice=exercice)
    compteur = verrou.first()
    if compteur is None:
        # INSERT … ON CONFLICT DO NOTHING: a concurrent run that created it meanwhile is no error (it waits for that
        # run's commit, then locks the row it created).
        CompteurActes.objects.bulk_create(
            [CompteurActes(financeur=financeur, exercice=exercice)], ignore_conflicts=True
        )
        compteur = verrou.get()
    return compteur


def numeros_reserver(*, compteur: CompteurActes, financeur: Financeur, nombre: int) -> list[str]:
    """The next `nombre` numbers of a counter locked by `_compteur_verrouiller` (ETAT-2015-0001, …), in one update."""
    if nombre <= 0:
        return []
    premier = compteur.dernier + 1
    compteur.dernier += nombre
    compteur.save(update_fields=["dernier"])
    prefixe = f"{financeur.code.upper()}-{compteur.exercice}"
    return [f"{prefixe}-{n:04d}" for n in range(premier, compteur.dernier + 1)]


def _document_de_base(
    documents: list[ActeAttribution], *, financeur: Financeur, exercice: int
) -> ActeAttribution | None:
    """Among a porteur's documents (ordered by pk), the non-avenant one new lines hang on: for a financeur in CPO mode
    the convention pluriannuelle that covers the exercice (not resiliée; the earliest), otherwise the exercice's."""
    originaux = [a for a in documents if not a.est_avenant]
    if financeur.mode_cpo:
        cpos = [
            a
            for a in originaux
            if a.annee_fin is not None and a.exercice <= exercice <= a.annee_fin and a.statut != StatutActe.RESILIEE
        ]
        if cpos:
            return min(cpos, key=lambda a: (a.exercice, a.numero))
    return next((a for a in originaux if a.exercice == exercice), None)


@transaction.atomic
def _financeur_batir(
    *, financeur: Financeur, campagne: Campagne
) -> tuple[list[ActeAttribution], list[ActeAttribution]]:
    """Every (porteur, exercice) group of one financeur, in one transaction and set-based steps: the counter locked,
    one read of the granted lines, one locked read of the porteurs' documents and one of their totals, then the new
    documents (numbered in one counter update) and the lines inserted in bulk, the documents that took lines updated
    in bulk. Returns (created documents, updated documents)."""
    exercice = campagne.exercice
    compteur = _compteur_verrouiller(financeur=financeur, exercice=exercice)
    # Read under the lock: a concurrent run that got here first has already taken its lines.
    a_conventionner = lignes_a_conventionner(campagne=campagne, financeur=financeur)
    par_porteur: dict[int, list[tuple[int, Decimal]]] = {}
    for pk, porteur_id, montant in a_conventionner.values_list(
        "pk", "demande__porteur_id", "montant_accorde"
    ).order_by("demande__porteur_id", "demande__numero", "pk"):
        par_porteur.setdefault(porteur_id, []).append((pk, montant))
    if not par_porteur:
        return [], []

    # The documents these porteurs already have: the exercice's (originals and avenants) and, in CPO mode, the
    # conventions pluriannuelles of earlier years that cover it. Locked, so that nobody signs one while it takes lines.
    portee = Q(exercice=exercice)
    if financeur.mode_cpo:
        portee |= Q(est_avenant=False, annee_fin__isnull=False, exercice__lt=exercice, annee_fin__gte=exercice)
    documents = ActeAttribution.objects.filter(
        portee, financeur=financeur, porteur__in=a_conventionner.values("demande__porteur_id")
    )
    existants = list(documents.select_for_update(of=("self",)).order_by("pk"))
    totaux: dict[int, Decimal] = {}
    if existants:
        totaux = dict(
            ActeLigne.objects.filter(acte__in=documents.values("pk"))
            .order_by()
            .values("acte_id")
            .annotate(total=Sum("montant"))
            .values_list("acte_id", "total")
        )
    documents_de: dict[int, list[ActeAttribution]] = {}
    for acte in existants:
        documents_de.setdefault(acte.porteur_id, []).append(acte)

    nouveaux: list[ActeAttribution] = []
    cibles: dict[int, ActeAttribution] = {}  # porteur → the document its new lines go into
    for porteur_id in par_porteur:
        siens = documents_de.get(porteur_id, [])
        base = _document_de_base(siens, financeur=financeur, exercice=exercice)
        if base is None:
            acte = ActeAttribution(
                financeur_id=financeur.pk,
                porteur_id=porteur_id,
                campagne_id=campagne.pk,
                exercice=exercice,
                annee_fin=exercice + financeur.duree_cpo - 1 if financeur.mode_cpo else None,
                est_avenant=False,
            )
            nouveaux.append(acte)
        elif base.est_modifiable and base.exercice == exercice:
            acte = base
        else:
            # Signed (or a CPO of an earlier year: its annual financial avenant): the exercice's unsigned avenant,
            # the oldest one, or a new one.
            acte = next(
                (
                    a
                    for a in siens
                    if a.parent_id == base.pk and a.exercice == exercice and a.statut in STATUTS_MODIFIABLES
                ),
                None,
            )
            if acte is None:
                acte = ActeAttribution(
                    financeur_id=financeur.pk,
                    porteur_id=porteur_id,
                    campagne_id=campagne.pk,
                    exercice=exercice,
                    nature=base.nature,
                    est_avenant=True,
                    parent_id=base.pk,
                )
                nouveaux.append(acte)
        cibles[porteur_id] = acte
        ajout = sum((montant for _pk, montant in par_porteur[porteur_id]), ZERO)
        acte.montant_total = (totaux.get(acte.pk, ZERO) if acte.pk else ZERO) + ajout
        # The threshold looks at everything granted to the porteur by this financeur this year (avenants included).
        total_groupe = ajout + sum((totaux.get(a.pk, ZERO) for a in siens if a.exercice == exercice), ZERO)
        # Only an unsigned document is re-evaluated: an arrêté not yet notified that crosses the threshold becomes a
        # convention. Lines are only ever added, so a convention never turns back into an arrêté.
        if acte.pk is None or acte.nature == NatureActe.ARRETE:
            acte.nature = nature_pour(financeur=financeur, total=total_groupe)
        acte.a_generer = True

    # Numbers in the order of the porteurs, as the groups are read, in one update of the locked counter.
    for acte, numero in zip(
        nouveaux, numeros_reserver(compteur=compteur, financeur=financeur, nombre=len(nouveaux)), strict=True
    ):
        acte.numero = numero
    ActeAttribution.objects.bulk_create(nouveaux, batch_size=LOT)
    ActeLigne.objects.bulk_create(
        [
            ActeLigne(acte_id=cibles[porteur_id].pk, ligne_id=pk, montant=montant)
            for porteur_id, lignes in par_porteur.items()
            for pk, montant in lignes
        ],
        batch_size=LOT,
    )
    crees = {id(a) for a in nouveaux}
    modifies = [a for a in cibles.values() if id(a) not in crees]
    if modifies:
        maintenant = timezone.now()
        for acte in modifies:
            acte.maj_le = maintenant
        ActeAttribution.objects.bulk_update(
            modifies, ["montant_total", "nature", "a_generer", "maj_le"], batch_size=LOT
        )
    return nouveaux, modifies


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
    it bloquée with the reason). Idempotent, and safe when two runs overlap: each financeur is built in its own
    transaction under the lock of its numbering counter (taken before the lines are read) and of the documents that
    take lines; each generation runs under the document's lock.

    Returns how many documents were created, updated (lines added or a new PDF version) and left untouched (in the
    scope), and how many are bloquées."""
    financeurs = Financeur.objects.filter(
        pk__in=lignes_a_conventionner(campagne=campagne, financeur=financeur).values("financeur_id")
    ).order_by("pk")
    crees, maj, autre_campagne = set(), set(), set()
    for f in financeurs:
        nouveaux, modifies = _financeur_batir(financeur=f, campagne=campagne)
        crees.update(a.pk for a in nouveaux)
        maj.update(a.pk for a in modifies)
        # An avenant of the exercice opened by another campagne counts as updated but lies outside the scope below.
        autre_campagne.update(a.pk for a in modifies if a.campagne_id != campagne.pk)
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
    compte = portee.aggregate(total=Count("pk"), bloquees=Count("pk", filter=Q(statut=StatutActe.BLOQUEE)))
    inchanges = compte["total"] - len((crees | maj) - autre_campagne)
    return {"crees": len(crees), "maj": len(maj), "inchanges": inchanges, "bloquees": compte["bloquees"]}


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
    """The financeur's signataire ends the document (the motif is kept in the history).

    In the same transaction, its payments not yet sent to the bank (prévus, à payer, rejetés) are cancelled, each
    with the motif in its history: a terminated convention must not be paid at the next liste. What was paid stays
    paid, and a payment already in an exported liste is left to finance (its return, or a titre de recette)."""
    from subventions.paiements.enums import StatutPaiement
    from subventions.paiements.models import Paiement

    def apres(resiliee: ActeAttribution) -> None:
        a_annuler = Paiement.objects.filter(
            echeancier__acte=resiliee,
            statut__in=(StatutPaiement.PREVU, StatutPaiement.A_PAYER, StatutPaiement.REJETE),
        ).order_by("pk")
        commentaire = _("Acte %(numero)s résilié : %(motif)s") % {"numero": resiliee.numero, "motif": motif}
        for paiement in a_annuler:
            transition_appliquer(
                obj=paiement, transition="annuler", acteur=acteur, verifier_permission=False, commentaire=commentaire
            )

    return transition_appliquer(obj=acte, transition="resilier", acteur=acteur, commentaire=motif, apres=apres)
