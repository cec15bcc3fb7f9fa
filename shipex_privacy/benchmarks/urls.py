"""The benchmark's URLconf: the project's URLs, and the stock admin (plain.py) beside them at /plain/."""

from django.urls import path

from config.urls import urlpatterns as project_urlpatterns

from .plain import site

urlpatterns = [*project_urlpatterns, path("plain/", site.urls)]
