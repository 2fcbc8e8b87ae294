"""URLs of the associations' portal (namespace `associations`, mounted at /association/)."""

from django.urls import path

from associations import views

app_name = "associations"
urlpatterns = [
    path("", views.mes_structures, name="mes_structures"),
    path("inscrire/", views.porteur_creer, name="porteur_creer"),
    path("rejoindre/", views.adhesion_demander, name="adhesion_demander"),
    path("invitations/<str:jeton>/", views.invitation_accepter, name="invitation_accepter"),
    path("<int:pk>/", views.porteur_detail, name="porteur_detail"),
    path("<int:pk>/modifier/", views.porteur_modifier, name="porteur_modifier"),
    path("<int:pk>/membres/", views.membres, name="membres"),
    path("<int:pk>/membres/inviter/", views.inviter, name="inviter"),
    path("<int:pk>/membres/<int:membre_pk>/role/", views.membre_modifier, name="membre_modifier"),
    path("<int:pk>/membres/<int:membre_pk>/retirer/", views.membre_retirer, name="membre_retirer"),
    path("<int:pk>/adhesions/<int:adhesion_pk>/", views.adhesion_decider, name="adhesion_decider"),
    path("<int:pk>/invitations/<int:invitation_pk>/annuler/", views.invitation_annuler, name="invitation_annuler"),
    path("<int:pk>/pieces/", views.coffre, name="coffre"),
    path("<int:pk>/pieces/<int:piece_pk>/telecharger/", views.piece_telecharger, name="piece_telecharger"),
    path("<int:pk>/pieces/<int:piece_pk>/archiver/", views.piece_archiver, name="piece_archiver"),
]
