"""States of a demande and the choices of the CERFA 12156 form, with English values and French labels."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class StatutDemande(models.TextChoices):
    BROUILLON = "brouillon", _("Brouillon")
    DEPOSEE = "deposee", _("Déposée")
    A_COMPLETER = "a_completer", _("À compléter")
    EN_INSTRUCTION = "en_instruction", _("En instruction")
    INSTRUITE = "instruite", _("Instruite")
    INSCRITE = "inscrite", _("Inscrite en comité")
    VALIDEE = "validee", _("Validée")
    REFUSEE = "refusee", _("Refusée")
    AJOURNEE = "ajournee", _("Ajournée")
    CONVENTIONNEE = "conventionnee", _("Conventionnée")
    BILAN_DEPOSE = "bilan_depose", _("Bilan déposé")
    SOLDEE = "soldee", _("Soldée")
    IRRECEVABLE = "irrecevable", _("Irrecevable")
    RETIREE = "retiree", _("Retirée")
    SANS_SUITE = "sans_suite", _("Classée sans suite")


# What the porteur reads about each state: plain French, and what is expected of them.
ATTENTE_PORTEUR = {
    StatutDemande.BROUILLON: _("À compléter puis déposer par un représentant légal avant la clôture."),
    StatutDemande.DEPOSEE: _("Dossier reçu : il sera vérifié par le service instructeur."),
    StatutDemande.A_COMPLETER: _("Des compléments vous sont demandés : modifiez les parties indiquées et redéposez."),
    StatutDemande.EN_INSTRUCTION: _("Dossier recevable, en cours d'étude. Rien à faire pour l'instant."),
    StatutDemande.INSTRUITE: _("Étude terminée : le dossier sera présenté au comité."),
    StatutDemande.INSCRITE: _("Inscrit à l'ordre du jour du prochain comité."),
    StatutDemande.VALIDEE: _("Subvention accordée : la convention vous sera envoyée pour signature."),
    StatutDemande.REFUSEE: _("Demande refusée : le courrier de décision en donne les motifs."),
    StatutDemande.AJOURNEE: _("Décision reportée à un prochain comité."),
    StatutDemande.CONVENTIONNEE: _("Convention signée : le compte-rendu financier sera à déposer après l'action."),
    StatutDemande.BILAN_DEPOSE: _("Compte rendu financier validé : le solde vous sera versé."),
    StatutDemande.SOLDEE: _("Dossier soldé."),
    StatutDemande.IRRECEVABLE: _("Dossier irrecevable : le motif vous a été communiqué."),
    StatutDemande.RETIREE: _("Vous avez retiré cette demande."),
    StatutDemande.SANS_SUITE: _("Dossier classé sans suite."),
}


class NatureAide(models.TextChoices):
    NUMERAIRE = "numeraire", _("En numéraire (argent)")
    EN_NATURE = "en_nature", _("En nature")


class TypeDemande(models.TextChoices):
    PREMIERE = "premiere", _("Première demande")
    RENOUVELLEMENT = "renouvellement", _("Renouvellement (ou reconduction)")


class ObjetDemande(models.TextChoices):
    PROJET = "projet", _("Projet(s) / action(s)")
    FONCTIONNEMENT = "fonctionnement", _("Fonctionnement global")


class DureeDemande(models.TextChoices):
    ANNUELLE = "annuelle", _("Annuelle ou ponctuelle")
    PLURIANNUELLE = "pluriannuelle", _("Pluriannuelle")


class SensLigne(models.TextChoices):
    CHARGE = "charge", _("Charges")
    PRODUIT = "produit", _("Produits")


# The plan comptable associatif lines of the CERFA 12156 budget (74 is split per financeur, see LigneFinancement).
COMPTES_CHARGES = [
    ("60", _("60 – Achats")),
    ("61", _("61 – Services extérieurs")),
    ("62", _("62 – Autres services extérieurs")),
    ("63", _("63 – Impôts et taxes")),
    ("64", _("64 – Charges de personnel")),
    ("65", _("65 – Autres charges de gestion courante")),
    ("66", _("66 – Charges financières")),
    ("67", _("67 – Charges exceptionnelles")),
    ("68", _("68 – Dotation aux amortissements")),
    ("86", _("86 – Emplois des contributions volontaires en nature")),
]
COMPTES_PRODUITS = [
    ("70", _("70 – Vente de produits finis, prestations de services, marchandises")),
    ("73", _("73 – Dotations et produits de tarification")),
    ("74-autres", _("74 – Autres subventions (fonds européens, autres financeurs hors campagne)")),
    ("75", _("75 – Autres produits de gestion courante (cotisations, dons…)")),
    ("76", _("76 – Produits financiers")),
    ("77", _("77 – Produits exceptionnels")),
    ("78", _("78 – Reprises sur amortissements et provisions")),
    ("87", _("87 – Contributions volontaires en nature")),
]
COMPTES = COMPTES_CHARGES + COMPTES_PRODUITS
SENS_PAR_COMPTE = {code: SensLigne.CHARGE for code, _l in COMPTES_CHARGES} | {
    code: SensLigne.PRODUIT for code, _l in COMPTES_PRODUITS
}


class StatutLigne(models.TextChoices):
    """Each financeur decides its own part of a demande."""

    DEMANDEE = "demandee", _("Demandée")
    AVIS_DONNE = "avis_donne", _("Avis donné")
    INSCRITE = "inscrite", _("Inscrite en comité")
    ACCORDEE = "accordee", _("Accordée")
    REFUSEE = "refusee", _("Refusée")
    AJOURNEE = "ajournee", _("Ajournée")
    SANS_OBJET = "sans_objet", _("Sans objet (demande close)")


class Avis(models.TextChoices):
    FAVORABLE = "favorable", _("Favorable")
    RESERVE = "reserve", _("Réservé")
    DEFAVORABLE = "defavorable", _("Défavorable")


# States in which the demande is still being instructed or decided (side exits allowed from them).
EN_COURS = ("deposee", "a_completer", "en_instruction", "instruite", "inscrite", "ajournee")
