from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "fangpin.audit"
    label = "audit"
    verbose_name = "审计"

    def ready(self) -> None:
        from fangpin.accounts.roles import Role
        from fangpin.site import nav

        nav.register("审计", "审计日志", "audit:list", roles={Role.ADMIN}, order=10)
