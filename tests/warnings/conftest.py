import pytest


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    # Visit-form photos and exported lists go to a folder of the test's own.
    settings.MEDIA_ROOT = tmp_path / "media"
