"""Finance pages."""

app_name = "paiements"
urlpatterns: list = []
