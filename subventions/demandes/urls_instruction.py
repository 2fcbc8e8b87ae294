"""URLs of the instructeurs' pages (namespace `instruction`)."""

from django.urls import path

from subventions.demandes import views_instruction as views

app_name = "instruction"
urlpatterns = [
    path("", views.file, name="file"),
    path("<int:pk>/", views.demande, name="demande"),
    path("<int:pk>/assigner/", views.assigner, name="assigner"),
    path("<int:pk>/pieces/<int:piece_pk>/", views.piece, name="piece"),
    path("<int:pk>/complements/", views.complements, name="complements"),
    path("<int:pk>/irrecevable/", views.irrecevable, name="irrecevable"),
    path("<int:pk>/recevable/", views.recevable, name="recevable"),
    path("<int:pk>/lignes/<int:ligne_pk>/avis/", views.avis, name="avis"),
    path("<int:pk>/notes/", views.note, name="note"),
    path("<int:pk>/messages/", views.message, name="message"),
]
