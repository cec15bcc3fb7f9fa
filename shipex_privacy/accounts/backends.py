"""Django's model backend, reading a staff member's permissions in one query instead of two."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q


class ModelBackendOneQuery(ModelBackend):
    """``get_all_permissions`` (what ``has_perm`` asks) reads the user's own and their groups'
    permissions together, once per request as Django does (cached on the user object, which each
    request loads afresh: a role changed is seen on the next page). Everything else is Django's."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            own = Permission.objects.filter(user=user_obj).values("pk")
            # As ModelBackend's own: through the user model's groups field, by its related query name.
            groups_of_user = f"group__{get_user_model()._meta.get_field('groups').related_query_name()}"
            of_groups = Permission.objects.filter(**{groups_of_user: user_obj}).values("pk")
            permissions = Permission.objects.filter(Q(pk__in=own) | Q(pk__in=of_groups))
            user_obj._perm_cache = {
                f"{app_label}.{codename}"
                for app_label, codename in permissions.values_list("content_type__app_label", "codename").order_by()
            }
        return user_obj._perm_cache

