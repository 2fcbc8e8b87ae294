"""URLs of the comité pages (namespace `comites`)."""

from django.urls import path

from subventions.comites import views

app_name = "comites"
urlpatterns = [
    path("campagne/<int:campagne_pk>/", views.seances, name="seances"),
    path("campagne/<int:campagne_pk>/nouvelle/", views.seance_creer, name="seance_creer"),
    path("seance/<int:pk>/", views.seance, name="seance"),
    path("seance/<int:pk>/presents/", views.presents, name="presents"),
    path("seance/<int:pk>/ordre-du-jour/ajouter/", views.odj_ajouter, name="odj_ajouter"),
    path("seance/<int:pk>/ordre-du-jour/<int:point_pk>/retirer/", views.odj_retirer, name="odj_retirer"),
    path("seance/<int:pk>/ligne/<int:ligne_pk>/decider/", views.decider, name="decider"),
    path("seance/<int:pk>/decider-en-bloc/", views.decider_en_bloc, name="decider_en_bloc"),
    path("seance/<int:pk>/cloturer/", views.cloturer, name="cloturer"),
    path("seance/<int:pk>/proces-verbal/", views.pv_telecharger, name="pv_telecharger"),
    path("lettres/<int:pk>/", views.lettre_telecharger, name="lettre_telecharger"),
]
