from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "fangpin.claims"
    label = "claims"
    verbose_name = "结算台账"
    default_auto_field = "django.db.models.BigAutoField"
