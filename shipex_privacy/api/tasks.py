"""A system's answer to the task the back office sent it: POST /api/v1/tasks/{id}/answer.

The webhook (docs/webhooks.md) names the task and this path. The client must belong to the task's
system; the answer is checked and kept by ``integrations.services.system_task_answer``, which closes
the task (and, for an erasure, the request's erasure tasks of that system) in history naming the client.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from shipex_privacy.integrations.models import Scope, SystemTask
from shipex_privacy.integrations.services import OtherSystemsTask, system_task_answer

from .base import ClientView
from .problems import problem_responses

LARGEST_ID = 2**63 - 1


class KeptSerializer(serializers.Serializer):
    data = serializers.CharField(max_length=200, help_text=gettext_lazy("What was kept, e.g. \"invoices\"."))
    law = serializers.CharField(max_length=300, help_text=gettext_lazy("The law that keeps it."))
    until = serializers.DateField(required=False, allow_null=True, help_text=gettext_lazy("Kept until (YYYY-MM-DD)."))


class SectionSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    records = serializers.ListField(child=serializers.DictField(), help_text=gettext_lazy(
        "Objects of plain values (text, numbers, true/false, null)."))


class AnswerSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=[("done", "done"), ("refused", "refused")])
    reason = serializers.CharField(max_length=500, required=False, help_text=gettext_lazy("Why, when refused."))
    erased = serializers.ListField(child=serializers.CharField(max_length=200), required=False,
                                   help_text=gettext_lazy("Erasure: what was erased."))
    kept = KeptSerializer(many=True, required=False, help_text=gettext_lazy(
        "Erasure: what was kept, under which law, until when."))
    applied = serializers.ListField(child=serializers.CharField(max_length=200), required=False,
                                    help_text=gettext_lazy("Correction: what was corrected."))
    part = SectionSerializer(many=True, required=False, help_text=gettext_lazy(
        "Access: the system's part of the package (at most 512 KB)."))

    def to_internal_value(self, data):
        if isinstance(data, dict) and (unknown := sorted(set(data) - set(self.fields))):
            raise serializers.ValidationError({name: [exceptions.ErrorDetail(
                _("Unknown field."), code="unknown_field")] for name in unknown})
        return super().to_internal_value(data)


class TaskStateSerializer(serializers.Serializer):
    task_id = serializers.IntegerField(source="pk")
    request_id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    answered_at = serializers.DateTimeField(allow_null=True)
    changed = serializers.BooleanField(help_text=gettext_lazy("False when the task was already answered: nothing "
                                                              "changed."))


def _raw(data: dict) -> dict:
    """The validated answer in plain JSON types, as the service checks and keeps it."""
    if data.get("kept"):
        data["kept"] = [{**line, "until": line["until"].isoformat() if line.get("until") else None}
                        for line in data["kept"]]
    if data.get("part"):
        data["part"] = [dict(section) for section in data["part"]]
    return data


class TaskAnswerView(ClientView):
    required_scopes = {"POST": Scope.TASKS_ANSWER}

    @extend_schema(
        operation_id="tasks_answer",
        summary="A system's answer to the task it was sent",
        description=("Done (with what was erased and kept, what was corrected, or its part of the access "
                     "package) or refused with a reason. A task already answered is answered 200 with "
                     "`changed: false`, and nothing changes. Only a client of the task's own system may answer."),
        request=AnswerSerializer,
        parameters=[OpenApiParameter("id", {"type": "integer", "minimum": 0}, OpenApiParameter.PATH,
                                     description="The task_id the webhook named.")],
        responses={
            200: OpenApiResponse(TaskStateSerializer, description="Answered (or already answered)."),
            **problem_responses(400, 401, 403, 404, 415, 429,
                                on_403=_("Missing scope, or the task belongs to another system (``other_system``)."),
                                on_404=_("No such task."), on_400=_("Bad input, per field."),
                                on_415=_("The body is not application/json.")),
        },
        tags=["tasks"],
    )
    def post(self, request, pk: int):
        task = SystemTask.objects.filter(pk=pk).first() if pk <= LARGEST_ID else None
        if task is None:
            raise exceptions.NotFound(_("No task #%(id)s.") % {"id": pk})
        serializer = AnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = _raw(dict(serializer.validated_data))
        try:
            answered = system_task_answer(task=task, client=request.auth.client, outcome=data.pop("outcome"),
                                          data=data)
        except OtherSystemsTask:
            raise exceptions.PermissionDenied(_("Task #%(id)s was sent to another system.") % {"id": pk},
                                              code="other_system") from None
        return Response(TaskStateSerializer(_State(answered.task, answered.changed)).data)


class _State:
    def __init__(self, task: SystemTask, changed: bool):
        self.pk, self.request_id, self.kind, self.status = task.pk, task.request_id, task.kind, task.status
        self.answered_at, self.changed = task.answered_at, changed
