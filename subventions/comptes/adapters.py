"""allauth customised in one place: every email it sends goes through the outbox."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter

from workflows.services import courriel_programmer


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        message = self.render_mail(template_prefix, email, context)
        html = ""
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                html = content
        courriel_programmer(
            destinataires=list(message.to),
            sujet=message.subject,
            texte=message.body,
            html=html,
            modele=template_prefix,
        )
