"""URLs of the pilotage pages (namespace `pilotage`, mounted at /pilotage/)."""

from django.urls import path

from subventions.pilotage import views

app_name = "pilotage"
urlpatterns = [
    path("", views.tableau_de_bord, name="tableau_de_bord"),
    path("tableaux/<slug:nom>.<slug:format>", views.tableau_export, name="tableau_export"),
    path("scdl/", views.scdl_telecharger, name="scdl"),
    path("imports/", views.imports, name="imports"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/rapport.<slug:format>", views.import_rapport, name="import_rapport"),
]
