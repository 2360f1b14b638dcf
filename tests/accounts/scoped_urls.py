"""A model app's view in miniature, built only from the access framework, so its rules are
tested over HTTP: an area record in the user's township, viewed (audited) and changed."""

from django.http import HttpResponse
from django.urls import path

from fangpin import audit
from fangpin.accounts.access import (
    get_in_scope_or_404,
    require_write,
    role_required,
    scope_queryset,
)
from fangpin.site.urls import urlpatterns as site_urlpatterns


def _townships():
    from fangpin.people.models import Area

    return Area.objects.filter(level="township")


@role_required()
def township_list(request):
    names = (
        scope_queryset(_townships(), request.user, "code")
        .order_by("code")
        .values_list("name", flat=True)
    )
    return HttpResponse(",".join(names))


@role_required()
def township_detail(request, pk):
    area = get_in_scope_or_404(_townships(), request.user, pk, "code")
    if request.method == "POST":
        require_write(request.user)  # role_required has already refused read-only users
        area.name = request.POST["name"]
        area.save(update_fields=["name"])
        audit.record(request, audit.CHANGE, "area", area.pk, f"改名为 {area.name}")
        return HttpResponse("saved")
    audit.record(request, audit.VIEW, "area", area.pk, "查看乡镇")
    return HttpResponse(area.name)


urlpatterns = [
    path("scoped/", township_list),
    path("scoped/<int:pk>/", township_detail),
    *site_urlpatterns,
]
