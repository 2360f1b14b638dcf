"""Finding or creating areas by name, as department lists and births files give them."""

from __future__ import annotations

import re

from fangpin.people.models import Area

DEFAULT_COUNTY = ("county", "本县")


def clean_name(name: str | None) -> str:
    return re.sub(r"\s", "", name or "")


class AreaResolver:
    """Township and village areas by name, created under the county when first seen.

    An area created here gets a path code (county code/township/village); a bureau that loads
    the official division codes later keeps the same rows.
    """

    def __init__(self) -> None:
        self.county = self._county()
        self.townships: dict[str, Area] = {}
        self.villages: dict[tuple[int, str], Area] = {}
        for a in Area.objects.filter(level__in=[Area.Level.TOWNSHIP, Area.Level.VILLAGE]):
            if a.level == Area.Level.TOWNSHIP:
                self.townships.setdefault(a.name, a)
                self.townships.setdefault(a.code, a)
            elif a.parent_id is not None:
                self.villages.setdefault((a.parent_id, a.name), a)
        self.created = 0

    @staticmethod
    def _county() -> Area:
        county = Area.objects.filter(level=Area.Level.COUNTY, parent=None).order_by("id").first()
        if county is None:
            county = Area.objects.create(
                code=DEFAULT_COUNTY[0], name=DEFAULT_COUNTY[1], level=Area.Level.COUNTY
            )
        return county

    def township(self, name: str | None, *, create: bool = True) -> Area | None:
        """The township of that name (or code); created if missing and `create`."""
        key = clean_name(name)
        if not key:
            return None
        area = self.townships.get(key)
        if area is None and create:
            area = Area.objects.create(
                code=f"{self.county.code}/{key}",
                name=key,
                level=Area.Level.TOWNSHIP,
                parent=self.county,
            )
            self.townships[key] = area
            self.created += 1
        return area

    def village(self, township: Area | None, name: str | None) -> Area | None:
        key = clean_name(name)
        if township is None or not key:
            return None
        area = self.villages.get((township.pk, key))
        if area is None:
            area = Area.objects.create(
                code=f"{township.code}/{key}", name=key, level=Area.Level.VILLAGE, parent=township
            )
            self.villages[(township.pk, key)] = area
            self.created += 1
        return area
