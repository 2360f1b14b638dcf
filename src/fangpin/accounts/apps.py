from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "fangpin.accounts"
    label = "accounts"
    verbose_name = "账户"

    def ready(self) -> None:
        from fangpin.accounts.roles import Role
        from fangpin.site import nav

        nav.register("审计", "账户管理", "accounts:users", roles={Role.ADMIN}, order=20)
