"""Template tags shared by every app's pages: `{% load fangpin_tags %}`.

fangpin.site is the project package, not an installed app, so Django does not find this
library on its own. `install()` names it in the Django template engine's options; an app calls
it from its AppConfig.ready(), before any template is rendered. Listing the library under
TEMPLATES[0]["OPTIONS"]["libraries"] in the settings does the same, and install() then changes
nothing.
"""

from __future__ import annotations

LIBRARY_NAME = "fangpin_tags"
LIBRARY = "fangpin.site.templatetags.fangpin_tags"
DJANGO_BACKEND = "django.template.backends.django.DjangoTemplates"


def install() -> None:
    """Make `{% load fangpin_tags %}` available in every Django template engine."""
    from django.conf import settings

    for engine in settings.TEMPLATES:
        if engine.get("BACKEND") == DJANGO_BACKEND:
            libraries = engine.setdefault("OPTIONS", {}).setdefault("libraries", {})
            libraries.setdefault(LIBRARY_NAME, LIBRARY)
