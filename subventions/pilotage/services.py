"""Writes of the pilotage app: the import of past subsidies (financeurs, historical campagnes, porteurs, validated
actions with their granted amounts, then their conventions and arrêtés by the normal grouping rule)."""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from associations.models import Porteur
from subventions.campagnes.models import Campagne
from subventions.comptes.models import User
from subventions.conventions.models import ActeAttribution, NatureActe, StatutActe
from subventions.conventions.services import conventions_batir
from subventions.demandes.enums import Avis, NatureAide, StatutDemande, StatutLigne
from subventions.demandes.models import CompteurDossiers, Demande, LigneFinancement
from subventions.pilotage.lecture import FichierIlisible, LigneLue, lire, normaliser_nom
from subventions.pilotage.models import CampagneHistorique, ImportSubventions, LigneImportee
from subventions.referentiel.enums import TypeFinanceur
from subventions.referentiel.models import ContratDeVille, Financeur
from subventions.templatetags.subventions_tags import formater_montant
from workflows.models import TransitionLog

PARIS = ZoneInfo("Europe/Paris")
ZERO = Decimal("0.00")
# Who "created" the imported demandes when the command line runs the import (a demande needs an author): an inactive
# account that cannot log in.
COMPTE_IMPORT = "import-subventions@subventions.invalid"
CONTRAT_HISTORIQUE = "Subventions importées (historique)"
LOT = 500

__all__ = ["FichierIlisible", "Rapport", "subventions_importer"]


@dataclass
class Rapport:
    """What an import did, row by row, in French; `en_dict()` is what `--report` writes as JSON."""

    fichier: str
    sha256: str
    format: str = ""
    disposition: str = ""
    simulation: bool = False
    lignes_lues: int = 0
    lignes_importees: int = 0
    lignes_deja_importees: int = 0
    lignes_rejetees: int = 0
    rejets: list[dict] = field(default_factory=list)
    avertissements: list[dict] = field(default_factory=list)
    porteurs_crees: int = 0
    porteurs_crees_sans_siret: int = 0  # among porteurs_crees: matched by name, their SIRET is to be completed
    porteurs_rapproches_siret: int = 0
    porteurs_rapproches_nom: int = 0
    financeurs_crees: list[str] = field(default_factory=list)
    campagnes_creees: list[int] = field(default_factory=list)
    montant_importe: Decimal = ZERO
    actes: dict[str, int] = field(default_factory=dict)
    import_id: int | None = None

    def rejeter(self, ligne: LigneLue, motif: str) -> None:
        self.rejets.append({"ligne": ligne.numero, "motif": motif})

    def avertir(self, numero: int, message: str) -> None:
        self.avertissements.append({"ligne": numero, "message": message})

    def en_dict(self) -> dict:
        donnees = asdict(self)
        donnees["montant_importe"] = f"{self.montant_importe:.2f}"
        donnees["rejets"] = sorted(self.rejets, key=lambda r: r["ligne"])
        donnees["avertissements"] = sorted(self.avertissements, key=lambda r: r["ligne"])
        return donnees

    def lignes_texte(self) -> list[str]:
        """The report as the command prints it."""
        texte = [
            f"Fichier : {self.fichier} — {self.format}, {self.disposition}",
            f"Lignes lues : {self.lignes_lues} ; importées : {self.lignes_importees} ; déjà importées : "
            f"{self.lignes_deja_importees} ; rejetées : {self.lignes_rejetees}",
            f"Porteurs créés : {self.porteurs_crees} ; rapprochés par SIRET : {self.porteurs_rapproches_siret} ; "
            f"rapprochés par le nom : {self.porteurs_rapproches_nom}",
            f"Porteurs créés sans SIRET : {self.porteurs_crees_sans_siret} (compris dans les créés ; SIRET à "
            "compléter avant toute publication SCDL)",
            f"Financeurs créés : {', '.join(self.financeurs_crees) or 'aucun'}",
            f"Campagnes historiques créées : {', '.join(str(a) for a in self.campagnes_creees) or 'aucune'}",
            f"Montant importé : {formater_montant(self.montant_importe)}",
        ]
        if self.actes:
            texte.append(
                f"Actes attributifs : {self.actes.get('conventions', 0)} convention(s), "
                f"{self.actes.get('arretes', 0)} arrêté(s), {self.actes.get('avenants', 0)} avenant(s)"
            )
        if self.rejets:
            texte.append("Lignes rejetées :")
            texte += [f"  ligne {r['ligne']} : {r['motif']}" for r in sorted(self.rejets, key=lambda r: r["ligne"])]
        if self.avertissements:
            texte.append("Avertissements :")
            texte += [f"  ligne {a['ligne']} : {a['message']}"
                      for a in sorted(self.avertissements, key=lambda a: a["ligne"])]  # fmt: skip
        if self.simulation:
            texte.append("Simulation (--dry-run) : rien n'a été enregistré.")
        return texte


def subventions_importer(
    *,
    contenu: bytes,
    nom_fichier: str,
    financeur: Financeur | None = None,
    acteur: User | None = None,
    simulation: bool = False,
    annee: int | None = None,
) -> Rapport:
    """Import a spreadsheet of granted subsidies, in one transaction: a failure leaves nothing, and `simulation`
    runs everything then rolls it back (same report, nothing written).

    Each good row becomes a validated demande of the historical campagne of its year (one campagne per year, in the
    contrat "Subventions importées (historique)"), with one accordée line of its financeur (asked = proposed = granted
    = the amount); its porteur is found by valid SIRET, then by normalised name, or created (without SIRET, to be
    completed, when the file gives no valid one: see `_porteurs`).
    Then `conventions_batir(generer=False)` groups the lines by financeur, porteur and year (convention above the
    financeur's threshold, arrêté below). These subsidies were attributed and followed up outside the product: each
    new document is recorded as executory on the date of its convention and closed at once (soldé, its demandes
    soldées), without PDF, échéancier or compte-rendu, so that nothing becomes due and no reminder is sent. Rows
    already imported (same key) are counted, never doubled. Raises FichierIlisible before writing anything when the
    file cannot be read at all."""
    lecture = lire(contenu, annee=annee)
    rapport = Rapport(
        fichier=nom_fichier[:200],
        sha256=hashlib.sha256(contenu).hexdigest(),
        format=lecture.tableau.description(),
        disposition=lecture.disposition,
        simulation=simulation,
    )
    with transaction.atomic():
        _importer(lecture.lignes, rapport, financeur=financeur, acteur=acteur)
        if simulation:
            rapport.import_id = None
            transaction.set_rollback(True)
    return rapport


# --- The import, step by step ----------------------------------------------------------------------------------------


def _importer(lignes: list[LigneLue], rapport: Rapport, *, financeur: Financeur | None, acteur: User | None) -> None:
    rapport.lignes_lues = len(lignes)
    for ligne in lignes:
        for message in ligne.avertissements:
            rapport.avertir(ligne.numero, message)
    candidates = []
    for ligne in lignes:
        if ligne.rejet:
            rapport.rejeter(ligne, ligne.rejet)
        elif financeur is None and not (ligne.attribuant_nom or ligne.attribuant.siret or ligne.attribuant.siren):
            rapport.rejeter(ligne, "Attribuant absent (ni nom ni SIRET) : précisez le financeur (--financeur).")
        else:
            candidates.append(ligne)

    # Idempotence: a row already imported (same key) is counted and left alone.
    cles = _cles(candidates, financeur)
    deja = set()
    liste_cles = list(cles.values())
    for i in range(0, len(liste_cles), LOT):
        deja.update(LigneImportee.objects.filter(cle__in=liste_cles[i : i + LOT]).values_list("cle", flat=True))
    nouvelles = []
    for ligne in candidates:
        if cles[ligne.numero] in deja:
            rapport.lignes_deja_importees += 1
        else:
            nouvelles.append(ligne)

    porteurs = _porteurs(nouvelles, rapport)
    a_importer = [ligne for ligne in nouvelles if ligne.numero in porteurs]
    source = ImportSubventions.objects.create(
        fichier=rapport.fichier, sha256=rapport.sha256, financeur=financeur, par=acteur
    )
    rapport.import_id = source.pk
    if a_importer:
        if financeur is not None:
            financeurs = {ligne.numero: financeur for ligne in a_importer}
        else:
            financeurs = _financeurs(a_importer, rapport)
        campagnes = _campagnes({ligne.exercice for ligne in a_importer}, rapport)
        _demandes_creer(a_importer, rapport, porteurs, financeurs, campagnes, cles, source, acteur)
        _actes_batir(a_importer, rapport, financeurs, campagnes, acteur)
    rapport.lignes_importees = len(a_importer)
    rapport.lignes_rejetees = len(rapport.rejets)
    rapport.montant_importe = sum((ligne.montant for ligne in a_importer), ZERO)
    source.lignes_lues = rapport.lignes_lues
    source.lignes_importees = rapport.lignes_importees
    source.lignes_deja = rapport.lignes_deja_importees
    source.lignes_rejetees = rapport.lignes_rejetees
    source.montant_importe = rapport.montant_importe
    source.rapport = rapport.en_dict()
    source.save()


def _identite_attribuant(ligne: LigneLue, financeur: Financeur | None) -> str:
    if financeur is not None:
        return f"id:{financeur.pk}"
    if ligne.attribuant.siret:
        return f"siret:{ligne.attribuant.siret}"
    if ligne.attribuant.siren and not ligne.attribuant_nom:
        return f"siren:{ligne.attribuant.siren}"
    return f"nom:{normaliser_nom(ligne.attribuant_nom)}"


def _cles(lignes: list[LigneLue], financeur: Financeur | None) -> dict[int, str]:
    """numero → key. Identical rows of one file get their rank among them: two identical subsidies stay two."""
    rangs: Counter = Counter()
    cles = {}
    for ligne in lignes:
        parties = (
            _identite_attribuant(ligne, financeur),
            str(ligne.exercice),
            ligne.beneficiaire.siret or f"nom:{normaliser_nom(ligne.beneficiaire_nom)}",
            normaliser_nom(ligne.objet),
            f"{ligne.montant:.2f}",
            ligne.date_convention.isoformat() if ligne.date_convention else "",
            normaliser_nom(ligne.reference),
        )
        rangs[parties] += 1
        cles[ligne.numero] = hashlib.sha256("\x1f".join((*parties, str(rangs[parties]))).encode()).hexdigest()
    return cles


def _nouveau_porteur(nom: str, siret: str, rna: str) -> Porteur:
    # Only what the file says: the address and the représentant are for the porteur to complete when it signs in.
    return Porteur(
        nom=nom,
        siret=siret,
        siren=siret[:9],
        rna=rna,
        adresse="",
        code_postal="",
        commune="",
        representant_nom="",
        representant_prenom="",
        representant_qualite="",
    )


def _porteurs(lignes: list[LigneLue], rapport: Rapport) -> dict[int, Porteur]:
    """numero → porteur; rows that match none are rejected with the reason.

    A row with a valid SIRET gets the porteur of that SIRET, created when unknown (with the first name and RNA the
    file gives for it). A row without a valid SIRET — none written, or a malformed one, which the reader reported
    and which is never trusted — is matched by normalised name among the existing porteurs and those the file
    creates; when no porteur has that name it is created without SIRET (one per normalised name, however many rows
    name it), with a warning on each of its rows that the SIRET is to be completed. A name that several porteurs
    share is ambiguous: the row is rejected."""
    sirets = sorted({ligne.beneficiaire.siret for ligne in lignes if ligne.beneficiaire.siret})
    par_siret: dict[str, Porteur] = {}
    for i in range(0, len(sirets), LOT):
        par_siret.update({p.siret: p for p in Porteur.objects.filter(siret__in=sirets[i : i + LOT])})
    resultat: dict[int, Porteur] = {}
    a_creer: dict[str, Porteur] = {}
    # Porteurs identified by id(): those created without SIRET have neither a pk nor a SIRET yet.
    rapproches_siret, rapproches_nom = set(), set()
    # A new porteur takes the first name (and RNA) the file gives for its SIRET, whatever the row.
    noms: dict[str, tuple[str, str]] = {}
    for ligne in lignes:
        if ligne.beneficiaire.siret and ligne.beneficiaire_nom:
            noms.setdefault(ligne.beneficiaire.siret, (ligne.beneficiaire_nom, ligne.rna))
    for ligne in lignes:
        siret = ligne.beneficiaire.siret
        if not siret:
            continue
        if siret in par_siret:
            resultat[ligne.numero] = par_siret[siret]
            rapproches_siret.add(id(par_siret[siret]))
        elif siret in noms:
            nom, rna = noms[siret]
            resultat[ligne.numero] = a_creer.setdefault(siret, _nouveau_porteur(nom, siret, rna))
        else:
            rapport.rejeter(ligne, f"Porteur inconnu (SIRET {siret}) et nom du bénéficiaire absent : il ne peut "
                            "pas être créé.")  # fmt: skip
    sans_siret = [ligne for ligne in lignes if not ligne.beneficiaire.siret]
    crees_sans_siret: dict[str, Porteur] = {}
    if sans_siret:
        par_nom: dict[str, list[Porteur]] = defaultdict(list)
        for porteur in [*Porteur.objects.only("pk", "nom", "siret"), *a_creer.values()]:
            par_nom[normaliser_nom(porteur.nom)].append(porteur)
        for ligne in sans_siret:
            cle = normaliser_nom(ligne.beneficiaire_nom)
            trouves = par_nom.get(cle, [])
            if len(trouves) > 1:
                rapport.rejeter(
                    ligne,
                    f"Sans SIRET valide, et {len(trouves)} porteurs portent le nom « {ligne.beneficiaire_nom} » : "
                    "indiquez le SIRET du bénéficiaire.",
                )
            elif trouves:
                porteur = trouves[0]
                resultat[ligne.numero] = porteur
                if porteur.pk is not None:
                    rapproches_nom.add(id(porteur))
                identite = f"SIRET {porteur.siret}" if porteur.siret else "sans SIRET : à compléter"
                rapport.avertir(
                    ligne.numero, f"Sans SIRET valide : rapproché par le nom de « {porteur.nom} » ({identite})."
                )
            else:
                porteur = crees_sans_siret.get(cle)
                if porteur is None:
                    porteur = crees_sans_siret[cle] = _nouveau_porteur(ligne.beneficiaire_nom, "", ligne.rna)
                resultat[ligne.numero] = porteur
                rapport.avertir(
                    ligne.numero,
                    f"Porteur « {porteur.nom} » créé sans SIRET : SIRET à compléter sur sa fiche (il est exigé "
                    "pour publier la subvention au format SCDL).",
                )
    nouveaux = [*a_creer.values(), *crees_sans_siret.values()]
    if nouveaux:
        # bulk_create sets the pk on these very objects (PostgreSQL, SQLite ≥ 3.35): `resultat` points to them.
        Porteur.objects.bulk_create(nouveaux, batch_size=LOT)
        rapport.porteurs_crees = len(nouveaux)
        rapport.porteurs_crees_sans_siret = len(crees_sans_siret)
    rapport.porteurs_rapproches_siret = len(rapproches_siret)
    rapport.porteurs_rapproches_nom = len(rapproches_nom)
    return resultat


def _type_financeur(nom: str, type_brut: str) -> str:
    mots = set(normaliser_nom(type_brut).split())
    for valeurs, type_ in (
        ({"DEP", "DEPARTEMENT", "CD", "CG"}, TypeFinanceur.DEPARTEMENT),
        ({"REG", "REGION", "CR"}, TypeFinanceur.REGION),
        ({"EPCI", "CA", "CC", "CU", "MET", "METROPOLE", "EPT"}, TypeFinanceur.EPCI),
        ({"COM", "COMMUNE", "VILLE"}, TypeFinanceur.COMMUNE),
        ({"ETAT"}, TypeFinanceur.ETAT),
        ({"CAF"}, TypeFinanceur.CAF),
    ):
        if mots & valeurs:
            return type_
    texte = f" {normaliser_nom(nom)} "
    for mots_cles, type_ in (
        ((" COMMUNAUTE ", " METROPOLE ", " AGGLOMERATION ", " INTERCOMMUNAL"), TypeFinanceur.EPCI),
        ((" DEPARTEMENT ", " CONSEIL DEPARTEMENTAL ", " CONSEIL GENERAL "), TypeFinanceur.DEPARTEMENT),
        ((" REGION ", " CONSEIL REGIONAL "), TypeFinanceur.REGION),
        ((" COMMUNE ", " VILLE ", " MAIRIE "), TypeFinanceur.COMMUNE),
        ((" CAISSE D ALLOCATIONS FAMILIALES ", " CAF "), TypeFinanceur.CAF),
        ((" ETAT ", " PREFECTURE ", " ANCT ", " MINISTERE "), TypeFinanceur.ETAT),
    ):
        if any(m in texte for m in mots_cles):
            return type_
    return TypeFinanceur.AUTRE


def _code_libre(nom: str, pris: set[str]) -> str:
    # At most 36 characters cut between words, leaving room for a "-2" suffix within the field's 40.
    base = re.sub(r"[^a-z0-9]+", "-", slugify(nom).lower()).strip("-")
    if len(base) > 36:
        base = base[:37].rsplit("-", 1)[0]
    base = base.strip("-") or "financeur"
    code, n = base, 2
    while code in pris:
        code, n = f"{base}-{n}", n + 1
    pris.add(code)
    return code


def _financeurs(lignes: list[LigneLue], rapport: Rapport) -> dict[int, Financeur]:
    """numero → financeur: by valid SIRET, by SIREN when only that was written and a single financeur has it, then by
    normalised name; created otherwise (its SIRET left empty when the file gives none that is valid)."""
    tous = list(Financeur.objects.all())
    par_siret = {f.siret: f for f in tous if f.siret}
    par_siren: dict[str, list[Financeur]] = defaultdict(list)
    par_nom: dict[str, list[Financeur]] = defaultdict(list)
    for f in tous:
        if f.siret:
            par_siren[f.siret[:9]].append(f)
        par_nom[normaliser_nom(f.nom)].append(f)
    codes = {f.code for f in tous}
    resultat: dict[int, Financeur] = {}
    for ligne in lignes:
        ident = ligne.attribuant
        nom = normaliser_nom(ligne.attribuant_nom)
        trouve = par_siret.get(ident.siret) if ident.siret else None
        if trouve is None and ident.siren and len(par_siren.get(ident.siren, [])) == 1:
            trouve = par_siren[ident.siren][0]
        if (
            trouve is None
            and nom
            and len(par_nom.get(nom, [])) == 1
            and not (ident.siret and par_nom[nom][0].siret and par_nom[nom][0].siret != ident.siret)
        ):
            trouve = par_nom[nom][0]
        if trouve is None:
            trouve = Financeur(
                code=_code_libre(ligne.attribuant_nom or ident.siret or ident.siren, codes),
                nom=ligne.attribuant_nom or f"Attribuant {ident.siret or ident.siren}",
                type=_type_financeur(ligne.attribuant_nom, ligne.attribuant_type),
                siret=ident.siret,
            )
            trouve.full_clean()
            trouve.save()
            rapport.financeurs_crees.append(trouve.code)
            if not ident.siret:
                rapport.avertir(
                    ligne.numero,
                    f"Financeur « {trouve.nom} » créé sans SIRET ({ident.probleme or 'aucun identifiant'}) : "
                    "renseignez-le avant de publier ses données au format SCDL.",
                )
            if trouve.siret:
                par_siret[trouve.siret] = trouve
                par_siren[trouve.siret[:9]].append(trouve)
            par_nom[nom].append(trouve)
        resultat[ligne.numero] = trouve
    return resultat


def _contrat_historique(annees: set[int]) -> ContratDeVille:
    contrat = ContratDeVille.objects.filter(nom=CONTRAT_HISTORIQUE).order_by("pk").first()
    if contrat is None:
        contrat = ContratDeVille(
            nom=CONTRAT_HISTORIQUE, perimetre="Données importées", annee_debut=min(annees), annee_fin=max(annees)
        )
    contrat.annee_debut = min(contrat.annee_debut, *annees)
    contrat.annee_fin = max(contrat.annee_fin, *annees)
    contrat.full_clean()
    contrat.save()
    return contrat


def _campagnes(annees: set[int], rapport: Rapport) -> dict[int, Campagne]:
    contrat = _contrat_historique(annees)
    existantes = {c.exercice: c for c in Campagne.objects.filter(contrat=contrat, exercice__in=annees)}
    for annee in sorted(annees - set(existantes)):
        campagne = Campagne(
            contrat=contrat,
            exercice=annee,
            titre=f"Subventions {annee} importées (historique)",
            description="Subventions attribuées hors de l'application, importées d'un fichier : aucun appel à "
            "projets n'a été ouvert en ligne pour cet exercice.",
            ouverture=datetime(annee - 1, 10, 1, 9, 0, tzinfo=PARIS),
            cloture=datetime(annee - 1, 12, 31, 12, 0, tzinfo=PARIS),
        )
        campagne.full_clean()
        campagne.save()
        CampagneHistorique.objects.create(campagne=campagne)
        existantes[annee] = campagne
        rapport.campagnes_creees.append(annee)
    return existantes


def _compte_import() -> User:
    user = User.objects.filter(email=COMPTE_IMPORT).first()
    if user is None:
        user = User.objects.create_user(COMPTE_IMPORT, None, first_name="Import", last_name="de subventions")
        User.objects.filter(pk=user.pk).update(is_active=False)
    return user


def _numeros(campagne: Campagne, nombre: int) -> list[str]:
    """`nombre` next dossier numbers of the campagne, under the counter's row lock (like a deposit)."""
    CompteurDossiers.objects.get_or_create(campagne=campagne)
    compteur = CompteurDossiers.objects.select_for_update().get(campagne=campagne)
    premier = compteur.dernier + 1
    compteur.dernier += nombre
    compteur.save(update_fields=["dernier"])
    return [f"{campagne.exercice}-{n:06d}" for n in range(premier, premier + nombre)]


def _moment(jour: date | None) -> datetime | None:
    return datetime.combine(jour, time(12, 0), tzinfo=PARIS) if jour else None


def _demandes_creer(lignes, rapport, porteurs, financeurs, campagnes, cles, source, acteur) -> None:
    auteur = acteur or _compte_import()
    par_campagne: dict[int, list[LigneLue]] = defaultdict(list)
    for ligne in lignes:
        par_campagne[ligne.exercice].append(ligne)
    demandes = []
    for exercice, groupe in sorted(par_campagne.items()):
        campagne = campagnes[exercice]
        campagne.financeurs.add(*{financeurs[ligne.numero].pk for ligne in groupe})
        for ligne, numero in zip(groupe, _numeros(campagne, len(groupe)), strict=True):
            objet = ligne.objet or f"Subvention {exercice}"
            demandes.append(
                Demande(
                    campagne=campagne,
                    porteur=porteurs[ligne.numero],
                    statut=StatutDemande.VALIDEE,
                    numero=numero,
                    intitule=objet[:250],
                    description=objet,
                    nature=NatureAide.EN_NATURE if ligne.en_nature else NatureAide.NUMERAIRE,
                    date_debut=ligne.debut if ligne.debut and ligne.fin and ligne.debut <= ligne.fin else None,
                    date_fin=ligne.fin if ligne.debut and ligne.fin and ligne.debut <= ligne.fin else None,
                    cree_par=auteur,
                )
            )
    demandes = Demande.objects.bulk_create(demandes, batch_size=LOT)
    ordre = [ligne for _e, groupe in sorted(par_campagne.items()) for ligne in groupe]
    lignes_fin = LigneFinancement.objects.bulk_create(
        [
            LigneFinancement(
                demande=demande,
                financeur=financeurs[ligne.numero],
                montant_demande=ligne.montant,
                statut=StatutLigne.ACCORDEE,
                avis=Avis.FAVORABLE,
                montant_propose=ligne.montant,
                montant_accorde=ligne.montant,
                avis_le=_moment(ligne.date_convention),
                decide_le=_moment(ligne.date_convention),
            )
            for demande, ligne in zip(demandes, ordre, strict=True)
        ],
        batch_size=LOT,
    )
    LigneImportee.objects.bulk_create(
        [
            LigneImportee(source=source, cle=cles[ligne.numero], numero=ligne.numero, ligne=lf)
            for lf, ligne in zip(lignes_fin, ordre, strict=True)
        ],
        batch_size=LOT,
    )
    type_demande = ContentType.objects.get_for_model(Demande)
    TransitionLog.objects.bulk_create(
        [
            TransitionLog(
                content_type=type_demande,
                object_id=demande.pk,
                transition="importer",
                source=StatutDemande.BROUILLON,
                cible=StatutDemande.VALIDEE,
                acteur=acteur,
                commentaire=f"Subvention attribuée importée de « {rapport.fichier} », ligne {ligne.numero}.",
                extra={"import": source.pk, "ligne": ligne.numero, "reference": ligne.reference},
            )
            for demande, ligne in zip(demandes, ordre, strict=True)
        ],
        batch_size=LOT,
    )


def _actes_batir(lignes, rapport, financeurs, campagnes, acteur) -> None:
    """Normal grouping (conventions_batir without PDF), then the new documents of the historical campagnes are
    recorded as executory on their convention date and closed (soldé): the `acte_executoire` signal is not sent, so
    neither an échéancier (payments) nor comptes-rendus are opened for subsidies the product never followed."""
    groupes = sorted({(ligne.exercice, financeurs[ligne.numero].pk) for ligne in lignes})
    par_pk = {f.pk: f for f in financeurs.values()}
    for exercice, financeur_pk in groupes:
        conventions_batir(campagne=campagnes[exercice], financeur=par_pk[financeur_pk], generer=False)
    actes = list(
        ActeAttribution.objects.filter(
            campagne__in=[campagnes[e] for e, _f in groupes],
            financeur_id__in={f for _e, f in groupes},
            statut__in=[StatutActe.BROUILLON, StatutActe.BLOQUEE],
        )
        .annotate(date=Max("lignes__ligne__decide_le"))
        .order_by("pk")
    )
    maintenant = timezone.now()
    maj = []
    for acte in actes:
        quand = acte.date or datetime(acte.exercice, 1, 1, 12, 0, tzinfo=PARIS)
        maj.append(
            ActeAttribution(
                pk=acte.pk,
                statut=StatutActe.SOLDEE,
                executoire_le=quand,
                envoyee_le=quand,
                a_generer=False,
                motif_blocage="",
                maj_le=maintenant,
            )
        )
    ActeAttribution.objects.bulk_update(
        maj, ["statut", "executoire_le", "envoyee_le", "a_generer", "motif_blocage", "maj_le"], batch_size=LOT
    )
    demandes = list(
        Demande.objects.filter(
            lignes_financement__acte_ligne__acte__in=[a.pk for a in actes], statut=StatutDemande.VALIDEE
        )
        .values_list("pk", flat=True)
        .distinct()
    )
    Demande.objects.filter(pk__in=demandes).update(statut=StatutDemande.SOLDEE)
    type_acte = ContentType.objects.get_for_model(ActeAttribution)
    type_demande = ContentType.objects.get_for_model(Demande)
    journal = [
        TransitionLog(
            content_type=type_acte,
            object_id=a.pk,
            transition="importer",
            source=a.statut,
            cible=m.statut,
            acteur=acteur,
            commentaire="Acte historique importé : exécutoire à la date de la convention et clos (sans document, "
            "échéancier ni compte-rendu).",
            extra={"date_convention": m.executoire_le.isoformat()},
        )
        for a, m in zip(actes, maj, strict=True)
    ]
    journal += [
        TransitionLog(
            content_type=type_demande,
            object_id=pk,
            transition="importer",
            source=StatutDemande.VALIDEE,
            cible=StatutDemande.SOLDEE,
            acteur=acteur,
            commentaire="Subvention historique : conventionnée et close hors de l'application.",
        )
        for pk in demandes
    ]
    TransitionLog.objects.bulk_create(journal, batch_size=LOT)
    rapport.actes = {
        "conventions": sum(1 for a in actes if a.nature == NatureActe.CONVENTION and not a.est_avenant),
        "arretes": sum(1 for a in actes if a.nature == NatureActe.ARRETE and not a.est_avenant),
        "avenants": sum(1 for a in actes if a.est_avenant),
    }
