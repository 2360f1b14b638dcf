from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "fangpin.enrollment"
    label = "enrollment"
    verbose_name = "参保监测"

    def ready(self) -> None:
        from fangpin.accounts.roles import Role
        from fangpin.enrollment.access import ITEM_ROLES
        from fangpin.enrollment.views import person_panel
        from fangpin.site import nav, panels

        nav.register(
            "参保监测",
            "参保核对",
            "enrollment:overview",
            roles={Role.ADMIN, Role.COUNTY, Role.TOWNSHIP, Role.LEADER},
            order=10,
        )
        nav.register("参保监测", "未参保人员", "enrollment:unenrolled", roles=ITEM_ROLES, order=20)
        nav.register("参保监测", "未参保新生儿", "enrollment:newborns", roles=ITEM_ROLES, order=30)
        panels.register(
            "person",
            "enrollment",
            "参保与资助",
            "enrollment/_person_panel.html",
            person_panel,
            roles=ITEM_ROLES,
            order=10,
        )
