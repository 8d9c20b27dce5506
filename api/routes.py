"""One way to route a REST resource: its collection, its items, and actions on an item."""

from __future__ import annotations

from django.urls import URLPattern, path
from rest_framework.views import APIView


def resource(
    route: str,
    names: tuple[str, str],
    collection: type[APIView],
    item: type[APIView],
    **actions: type[APIView],
) -> list[URLPattern]:
    """Routes `route` (named names[0]), `route/<int:pk>` (names[1]) and `route/<int:pk>/<action>` for each
    action (named `<names[1]>-<action>`)."""
    plural, singular = names
    item_route = f"{route.rstrip('/')}/<int:pk>"
    return [
        path(route, collection.as_view(), name=plural),
        path(item_route, item.as_view(), name=singular),
        *(
            path(f"{item_route}/{action}", view.as_view(), name=f"{singular}-{action}")
            for action, view in actions.items()
        ),
    ]
