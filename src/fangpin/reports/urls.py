from django.urls import path

from fangpin.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.statistics_page, name="statistics"),
    path("<str:table>.xlsx", views.export, name="export"),
]
