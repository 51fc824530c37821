from django.apps import AppConfig


class WorkbenchConfig(AppConfig):
    """The agent's workbench: the home page with the softphone and the CRM frame, and the HTTPS
    development server command that serves it."""

    name = "workbench"
    verbose_name = "workbench"
