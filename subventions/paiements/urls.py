"""URLs of the finance pages (namespace `paiements`, mounted at /paiements/) and of the porteur's payments."""

from django.urls import path

from subventions.paiements import views

app_name = "paiements"
urlpatterns = [
    path("", views.tableau_de_bord, name="tableau_de_bord"),
    path("listes/", views.listes, name="listes"),
    path("listes/nouvelle/", views.liste_creer, name="liste_creer"),
    path("listes/<int:pk>/", views.liste, name="liste"),
    path("listes/<int:pk>/fichier/<slug:format>/", views.liste_telecharger, name="liste_telecharger"),
    path("listes/<int:pk>/annuler/", views.liste_annuler, name="liste_annuler"),
    path("paiement/<int:pk>/payer/", views.paiement_payer, name="paiement_payer"),
    path("paiement/<int:pk>/rejeter/", views.paiement_rejeter, name="paiement_rejeter"),
    path("paiement/<int:pk>/remettre-a-payer/", views.paiement_reprendre, name="paiement_reprendre"),
    path("paiement/<int:pk>/rendre-exigible/", views.paiement_rendre_exigible, name="paiement_rendre_exigible"),
    path("actes/<int:acte_pk>/echeancier/", views.echeancier, name="echeancier"),
    path("retours/", views.retour_importer, name="retour_importer"),
    path("structure/<int:porteur_pk>/", views.porteur, name="porteur"),
]
