"""Static files storage for production: whitenoise's compressed, hashed files, tolerant before collectstatic."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Whitenoise's storage, except that a URL asked for before collectstatic is the unhashed name.

    The Dash app asks for its stylesheet's URL when its module is imported, which collectstatic
    itself does (through django-plotly-dash's finder) before any manifest or file exists there.
    """

    manifest_strict = False

    def hashed_name(self, name: str, content=None, filename: str | None = None) -> str:
        try:
            return super().hashed_name(name, content, filename)
        except ValueError:
            if content is not None or self.exists(name):
                raise
            return name
