"""URLs of the associations' portal (namespace `associations`)."""

from django.urls import path  # noqa: F401 - routes are added by the portal views

app_name = "associations"
urlpatterns: list = []
