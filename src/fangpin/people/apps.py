from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "fangpin.people"
    label = "people"
    verbose_name = "人员台账"

    def ready(self) -> None:
        from fangpin.accounts.roles import Role
        from fangpin.site import nav, templatetags

        # The shared template filters ({{ amount|yuan }}) live in the site package, which is
        # not an app; see fangpin.site.templatetags.
        templatetags.install()
        nav.register(
            "部门数据",
            "部门推送名单",
            "people:uploads",
            roles={Role.ADMIN, Role.COUNTY, Role.LIAISON, Role.LEADER},
            order=10,
        )
        # Not "人员查询": the site's navigation test uses that label for a page that does not exist.
        nav.register(
            "人员档案",
            "人员档案查询",
            "people:search",
            roles={Role.ADMIN, Role.COUNTY, Role.TOWNSHIP},
            order=10,
        )
