"""WSGI entry point (gunicorn subventions.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "subventions.settings")
application = get_wsgi_application()
