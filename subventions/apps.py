"""The project package as an app: home page, spaces, template tags and demo commands."""

from django.apps import AppConfig


class SubventionsConfig(AppConfig):
    name = "subventions"
    verbose_name = "Subventions"

    def ready(self) -> None:
        # The filesystem broker needs its folders before the first task is sent.
        from django.conf import settings

        if settings.CELERY_BROKER_URL.startswith("filesystem://"):
            for folder in (
                settings.CELERY_BROKER_FOLDER,
                *(settings.VAR_DIR / "celery" / f for f in ("processed", "control")),
            ):
                folder.mkdir(parents=True, exist_ok=True)
