from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "fangpin.claims"
    label = "claims"
    verbose_name = "结算台账"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from fangpin.accounts.roles import Role
        from fangpin.site import nav

        everyone = {Role.ADMIN, Role.COUNTY, Role.TOWNSHIP}
        county = {Role.ADMIN, Role.COUNTY}
        nav.register("结算", "结算查询", "claims:search", roles=everyone, order=10)
        nav.register("结算", "应享未享通知", "claims:notices", roles=everyone, order=20)
        nav.register("结算", "应退复核", "claims:overpaid", roles=county, order=30)
        nav.register("结算", "结算导入", "claims:imports", roles=county, order=40)
