from django.apps import AppConfig


class CrmdemoConfig(AppConfig):
    """The project package as an app: it carries the HTTPS development-server command."""

    name = "crmdemo"
    verbose_name = "crmdemo"
