from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "fangpin.reports"
    label = "reports"
    verbose_name = "统计"

    def ready(self) -> None:
        from fangpin.reports.access import STATS_ROLES
        from fangpin.site import nav, templatetags

        templatetags.install()
        nav.register("统计", "统计报表", "reports:statistics", roles=STATS_ROLES, order=10)
