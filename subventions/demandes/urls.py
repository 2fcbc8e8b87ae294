"""URLs of the online request form (namespace `demandes`)."""

from django.urls import path

from subventions.demandes import views

app_name = "demandes"
urlpatterns = [
    path("", views.liste, name="liste"),
    path("nouvelle/<int:campagne_pk>/", views.nouvelle, name="nouvelle"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/etapes/<slug:etape>/", views.etape, name="etape"),
    path("<int:pk>/budget/totaux/", views.budget_totaux, name="budget_totaux"),
    path("<int:pk>/recepisse/", views.recepisse, name="recepisse"),
    path("<int:pk>/renouveler/", views.renouveler, name="renouveler"),
    path("<int:pk>/messages/", views.message, name="message"),
]
