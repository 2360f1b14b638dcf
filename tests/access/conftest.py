"""The records of the access matrix, in a media folder and region pack of the test's own."""

from __future__ import annotations

import pytest

from tests.access.world import CLAIMS_PACK, World


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    # Uploaded lists, visit-form photos and exports go to a folder of the test's own.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def world(settings, areas, users, tmp_path) -> World:
    settings.FANGPIN_POLICY = CLAIMS_PACK
    return World(areas, users, tmp_path)
