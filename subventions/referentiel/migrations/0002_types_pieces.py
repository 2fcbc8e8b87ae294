"""The usual pièces of a subsidy request (CERFA 12156), available from the first install."""

from django.db import migrations

TYPES = [
    ("statuts", "Statuts régulièrement déclarés", None, 1),
    ("liste-dirigeants", "Liste des dirigeants (bureau, conseil d'administration)", 12, 2),
    ("rib", "Relevé d'identité bancaire (RIB)", None, 3),
    ("comptes-approuves", "Derniers comptes annuels approuvés", 18, 4),
    ("rapport-activite", "Dernier rapport d'activité approuvé", 18, 5),
    ("autre", "Autre pièce", None, 9),
]


def creer(apps, schema_editor):
    TypePiece = apps.get_model("referentiel", "TypePiece")
    for code, libelle, validite, ordre in TYPES:
        TypePiece.objects.get_or_create(
            code=code, defaults={"libelle": libelle, "duree_validite_mois": validite, "ordre": ordre}
        )


class Migration(migrations.Migration):
    dependencies = [("referentiel", "0001_initial")]
    operations = [migrations.RunPython(creer, migrations.RunPython.noop)]
