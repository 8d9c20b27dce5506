"""Template filters of the dashboard page."""

from django import template

register = template.Library()


@register.filter
def thousands(value: int | float | None) -> str:
    """1234567 -> "1,234,567"; None -> an en dash."""
    if value is None:
        return "–"
    return f"{value:,}"
