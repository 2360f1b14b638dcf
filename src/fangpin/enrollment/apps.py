from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "fangpin.enrollment"
    label = "enrollment"
    verbose_name = "参保监测"
