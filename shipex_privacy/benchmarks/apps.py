from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    """``manage.py benchmark``: a scratch database, its set-based loader and the measures. No models."""

    name = "shipex_privacy.benchmarks"
    verbose_name = "Benchmarks"
