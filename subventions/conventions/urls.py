"""Conventions pages."""

app_name = "conventions"
urlpatterns: list = []
