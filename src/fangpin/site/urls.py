"""URL routes of the web application."""

from django.contrib.staticfiles.views import serve as static_serve
from django.http import Http404, JsonResponse
from django.urls import include, path, re_path

from fangpin.accounts.middleware import login_not_required
from fangpin.site import views


@login_not_required
def healthz(request):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchone()
    return JsonResponse({"status": "ok", "database": connection.vendor})


@login_not_required
def static_files(request, path):
    # Static files are served by Django itself, DEBUG or not: the bureaus run fangpin on an
    # intranet with no web server in front, and WhiteNoise is not a dependency. staticfiles'
    # own view looks files up only through the staticfiles finders (the site's static folder
    # and installed apps' static/ folders) and refuses path traversal, so nothing else on disk
    # is reachable; `insecure` only lifts its DEBUG-only guard. The files are few and small.
    if ".." in path.split("/"):
        # The finders would refuse it too, but as a logged "suspicious operation" error.
        raise Http404(path)
    return static_serve(request, path, insecure=True)


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", views.home, name="home"),
    path("accounts/", include("fangpin.accounts.urls")),
    path("audit/", include("fangpin.audit.urls")),
    path("api/", include("fangpin.claims.api_urls")),
    path("claims/", include("fangpin.claims.urls")),
    path("people/", include("fangpin.people.urls")),
    path("enrollment/", include("fangpin.enrollment.urls")),
    path("warnings/", include("fangpin.warnings.urls")),
    path("reports/", include("fangpin.reports.urls")),
    path("policy/", views.policy_packs, name="policy_packs"),
    path("policy/<str:pack_id>/", views.policy_pack, name="policy_pack"),
    re_path(r"^static/(?P<path>.+)$", static_files, name="static"),
]
