"""Placeholder: filled by the subjects endpoint work."""

from .base import ClientView


class SubjectView(ClientView):
    pass


class SubjectConsentsView(ClientView):
    pass
