"""Placeholder: filled by the requests endpoint work."""

from .base import ClientView


class RequestListView(ClientView):
    pass


class RequestDetailView(ClientView):
    pass
