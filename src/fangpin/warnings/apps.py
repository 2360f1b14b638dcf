from django.apps import AppConfig


class WarningsConfig(AppConfig):
    name = "fangpin.warnings"
    label = "warnings"
    verbose_name = "高额费用预警"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from fangpin.accounts.roles import Role
        from fangpin.site import nav

        nav.register(
            "预警",
            "预警工作台",
            "warnings:worklist",
            roles={Role.ADMIN, Role.COUNTY, Role.TOWNSHIP, Role.LEADER},
            order=10,
        )
        nav.register(
            "预警",
            "筛查批次",
            "warnings:runs",
            roles={Role.ADMIN, Role.COUNTY, Role.LEADER},
            order=20,
        )
