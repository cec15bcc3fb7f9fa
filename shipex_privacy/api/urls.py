from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import events, requests, subjects, tasks
from .problems import unknown_path

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file of its own: our CSP allows no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("v1/subjects/<str:account_id>", subjects.SubjectView.as_view(), name="subject"),
    path("v1/subjects/<str:account_id>/consents", subjects.SubjectConsentsView.as_view(), name="subject-consents"),
    path("v1/events", events.EventsView.as_view(), name="events"),
    path("v1/requests", requests.RequestListView.as_view(), name="requests"),
    path("v1/requests/<int:pk>", requests.RequestDetailView.as_view(), name="request"),
    path("v1/tasks/<int:pk>/answer", tasks.TaskAnswerView.as_view(), name="task-answer"),
    # Last: any other path under /api/ is a problem+json 404, never Django's HTML page.
    # CSRF-exempt: a POST to a path no endpoint serves (e.g. /api/v1/tasks/-1/answer) is a 404 problem too,
    # never the CSRF failure page; the view changes nothing and reads no cookie.
    re_path(r"^", csrf_exempt(unknown_path)),
]
