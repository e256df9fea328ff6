from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Dashboards and reports"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the receivers)
