from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "fangpin.people"
    label = "people"
    verbose_name = "人员台账"
