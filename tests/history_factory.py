from factory.django import DjangoModelFactory

DEFAULT_REASON = "Created by a test factory"


class HistoryReasonFactory(DjangoModelFactory):
    """Saves through the model, so the object's first history row states a reason.

    ``SomeFactory(_change_reason="Demo data")`` sets another reason.
    """

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, _change_reason=DEFAULT_REASON, **kwargs):
        instance = model_class(*args, **kwargs)
        instance._change_reason = _change_reason
        instance.save()
        return instance

    @classmethod
    def _build(cls, model_class, *args, _change_reason=None, **kwargs):
        return model_class(*args, **kwargs)
