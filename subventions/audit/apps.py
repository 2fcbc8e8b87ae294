from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The top layer: who changed which amount, IBAN or decision, when, before and after (django-simple-history)."""

    name = "subventions.audit"
    label = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from subventions.audit import receivers  # noqa: F401  (stored documents and signatures are immutable)
