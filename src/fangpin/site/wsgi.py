"""The site as a WSGI application: Django, with the online settlement calls answered in front
of its middleware stack (`fangpin.claims.lean`)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangpin.site.settings")
django_application = get_wsgi_application()

from fangpin.claims.lean import OnlineApp  # noqa: E402  (needs the apps loaded)

application = OnlineApp(django_application)

# What is loaded by now (Django, the apps, the engine's libraries: some 180 000 objects) lives
# as long as the process. Left to the cyclic garbage collector, each of its full passes (rare:
# none in 8 000 settlements) walks all of it, a pause of about 0.1 s that every request in
# flight waits out; frozen, a full pass walks only what was made since.
gc.freeze()
