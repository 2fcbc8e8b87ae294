"""URLs of the bilans pages (namespace `bilans`, mounted at /bilans/): instructeurs, finance, the porteur's side."""

from django.urls import path

from subventions.bilans import views

app_name = "bilans"
urlpatterns = [
    path("", views.liste, name="liste"),
    path("<int:pk>/", views.compte_rendu, name="compte_rendu"),
    path("<int:pk>/valider/", views.valider, name="valider"),
    path("<int:pk>/corrections/", views.corrections, name="corrections"),
    path("<int:pk>/documents/<int:document_pk>/", views.document, name="document"),
    path("<int:pk>/pieces/<int:piece_pk>/", views.piece, name="piece"),
    path("reversements/", views.reversements, name="reversements"),
    path("porteur/<int:porteur_pk>/", views.porteur_liste, name="porteur_liste"),
    path("porteur/<int:porteur_pk>/<int:pk>/", views.porteur_compte_rendu, name="porteur_compte_rendu"),
    path("porteur/<int:porteur_pk>/<int:pk>/pieces/", views.porteur_piece_ajouter, name="porteur_piece_ajouter"),
    path(
        "porteur/<int:porteur_pk>/<int:pk>/pieces/<int:piece_pk>/retirer/",
        views.porteur_piece_retirer,
        name="porteur_piece_retirer",
    ),
    path(
        "porteur/<int:porteur_pk>/<int:pk>/documents/<int:document_pk>/",
        views.porteur_document,
        name="porteur_document",
    ),
]
