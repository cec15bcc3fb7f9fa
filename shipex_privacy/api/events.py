"""Placeholder: filled by the events endpoint work."""

from .base import ClientView


class EventsView(ClientView):
    pass
