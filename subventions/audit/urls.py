"""URLs of « Mes données » (included under /compte/donnees/)."""

from django.urls import path

from subventions.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.mes_donnees, name="mes_donnees"),
    path("telecharger/", views.mes_donnees_telecharger, name="mes_donnees_telecharger"),
    path("fermer/", views.compte_fermer, name="compte_fermer"),
]
