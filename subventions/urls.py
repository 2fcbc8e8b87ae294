"""URL configuration."""

from django.contrib import admin
from django.urls import include, path

from subventions import views

urlpatterns = [
    path("", views.accueil, name="accueil"),
    path("espace/association/", views.espace_association, name="espace_association"),
    path("espace/instruction/", views.espace_instruction, name="espace_instruction"),
    path("espace/comite/", views.espace_comite, name="espace_comite"),
    path("espace/signature/", views.espace_signature, name="espace_signature"),
    path("espace/finance/", views.espace_finance, name="espace_finance"),
    path("espace/administration/", views.espace_administration, name="espace_administration"),
    path("campagnes/<int:pk>/", views.campagne_detail, name="campagne_detail"),
    path("association/", include("associations.urls")),
    path("demandes/", include("subventions.demandes.urls")),
    path("instruction/", include("subventions.demandes.urls_instruction")),
    path("comites/", include("subventions.comites.urls")),
    path("conventions/", include("subventions.conventions.urls")),
    path("paiements/", include("subventions.paiements.urls")),
    path("bilans/", include("subventions.bilans.urls")),
    path("pilotage/", include("subventions.pilotage.urls")),
    path("workflows/", include("workflows.urls")),
    path("compte/donnees/", include("subventions.audit.urls")),
    path("compte/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
