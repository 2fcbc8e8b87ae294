"""URLs of the conventions pages (namespace `conventions`, mounted at /conventions/)."""

from django.urls import path

from subventions.conventions import views

app_name = "conventions"
urlpatterns = [
    path("", views.liste, name="liste"),
    path("envoyer/", views.envoyer_en_bloc, name="envoyer_en_bloc"),
    path("<int:pk>/", views.acte, name="acte"),
    path("<int:pk>/action/<slug:action>/", views.acte_action, name="acte_action"),
    path("<int:pk>/contresigner/", views.acte_contresigner, name="acte_contresigner"),
    path("<int:pk>/documents/<int:document_pk>/", views.acte_telecharger, name="acte_telecharger"),
    path("porteur/<int:porteur_pk>/", views.porteur_actes, name="porteur_actes"),
    path("porteur/<int:porteur_pk>/<int:pk>/", views.porteur_acte, name="porteur_acte"),
    path("porteur/<int:porteur_pk>/<int:pk>/signer/", views.porteur_signer, name="porteur_signer"),
    path(
        "porteur/<int:porteur_pk>/<int:pk>/documents/<int:document_pk>/",
        views.porteur_telecharger,
        name="porteur_telecharger",
    ),
]
