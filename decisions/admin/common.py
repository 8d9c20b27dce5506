"""What the decision admin pages share: an application error shown as form errors."""

from __future__ import annotations

from django import forms

from core.errors import InvalidInput

PUBLISH_PERMISSION = "decisions.publish_policy"


def _form_errors(form: forms.BaseForm, exc: InvalidInput) -> None:
    """Attach each field named by `exc` to the form field it belongs to (condition paths to `condition`)."""
    for name, problems in exc.errors.items():
        field = name.split(".")[0].split("[")[0]
        for problem in problems:
            form.add_error(field if field in form.fields else None, f"{name}: {problem}" if name != field else problem)


# --- Policies --------------------------------------------------------------------------------------
