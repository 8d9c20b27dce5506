"""Webhook endpoints through the API: staff with the model permissions list, register and delete them."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from webhooks.models import EVENT_TYPES, Endpoint
from webhooks.services import MIN_SECRET_BYTES, create_endpoint

from .permissions import permission_for
from .serializers import username_field


class EndpointSerializer(serializers.ModelSerializer):
    """An endpoint as listed: never its secret."""

    created_by = username_field("created_by")

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "url",
            "event_types",
            "description",
            "is_active",
            "created_at",
            "created_by",
            "failing_since",
            "disabled_at",
        ]


class EndpointCreateSerializer(serializers.Serializer):
    """Shape only: the URL (SSRF), event types and secret length are checked by webhooks.services."""

    url = serializers.CharField(max_length=500, help_text="http(s) URL of a public host.")
    event_types = serializers.ListField(child=serializers.CharField(), help_text=f"Any of {', '.join(EVENT_TYPES)}.")
    secret = serializers.CharField(
        write_only=True, trim_whitespace=False, help_text=f"At least {MIN_SECRET_BYTES} bytes."
    )
    description = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


def _permissions(request, perms_by_method: dict[str, str]):
    """The permission of the request's method; others (OPTIONS, or a 405 to come) need the view permission."""
    return [permission_for(perms_by_method.get(request.method, "webhooks.view_endpoint"))()]


class EndpointListCreateApi(APIView):
    parser_classes = [JSONParser]

    def get_permissions(self):
        return _permissions(self.request, {"GET": "webhooks.view_endpoint", "POST": "webhooks.add_endpoint"})

    @extend_schema(summary="Webhook endpoints", responses={200: EndpointSerializer(many=True)})
    def get(self, request):
        endpoints = Endpoint.objects.select_related("created_by").order_by("-created_at")
        return Response(EndpointSerializer(endpoints, many=True).data)

    @extend_schema(
        summary="Register a webhook endpoint",
        description=(
            "400 names the field: a URL that is not http(s) or resolves to a private, loopback or "
            "link-local address (allowed only with DEBUG on), an unknown event type, a secret under 32 bytes."
        ),
        request=EndpointCreateSerializer,
        responses={201: EndpointSerializer},
    )
    def post(self, request):
        data = EndpointCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = create_endpoint(**data.validated_data, created_by=request.user)
        return Response(EndpointSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class EndpointDetailApi(APIView):
    def get_permissions(self):
        return _permissions(self.request, {"GET": "webhooks.view_endpoint", "DELETE": "webhooks.delete_endpoint"})

    @extend_schema(summary="One webhook endpoint", responses={200: EndpointSerializer})
    def get(self, request, pk: int):
        return Response(EndpointSerializer(get_object_or_404(Endpoint, pk=pk)).data)

    @extend_schema(summary="Delete a webhook endpoint and its delivery log", responses={204: None})
    def delete(self, request, pk: int):
        get_object_or_404(Endpoint, pk=pk).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
