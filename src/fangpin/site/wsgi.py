"""The site as a WSGI application: Django, with the online settlement calls answered in front
of its middleware stack (`fangpin.claims.lean`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangpin.site.settings")
django_application = get_wsgi_application()

from fangpin.claims.lean import OnlineApp  # noqa: E402  (needs the apps loaded)

application = OnlineApp(django_application)
