"""The suite keeps its files to itself: never the user's data folder, where a site run from this
checkout keeps its model files."""

from __future__ import annotations

from pathlib import Path

from anomaly_site import settings as site_settings


def test_model_files_and_uploads_of_the_suite_are_outside_the_users_data_folder(settings) -> None:
    users_folder = site_settings._DATA_HOME / "ecommerce-anomaly"

    for folder in (settings.ARTIFACTS_DIR, settings.UPLOADS_DIR):
        assert not Path(folder).resolve().is_relative_to(users_folder.resolve()), folder
