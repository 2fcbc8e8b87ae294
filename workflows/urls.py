"""URLs of the workflow machinery (namespace `workflows`)."""

from django.urls import path

from workflows import views

app_name = "workflows"
urlpatterns = [
    path("graphes/", views.graphes, name="graphes"),
]
