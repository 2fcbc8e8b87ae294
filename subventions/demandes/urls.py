"""URLs of the online request form (namespace `demandes`)."""

from django.urls import path  # noqa: F401 - routes are added by the request views

app_name = "demandes"
urlpatterns: list = []
