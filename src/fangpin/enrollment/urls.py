from django.urls import path

from fangpin.enrollment import views

app_name = "enrollment"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("run/", views.run_create, name="run"),
    path("summary.xlsx", views.summary_export, name="summary_export"),
    path("unenrolled/", views.unenrolled_list, name="unenrolled"),
    path("unenrolled/export.xlsx", views.unenrolled_export, name="unenrolled_export"),
    path("unenrolled/<int:pk>/", views.unenrolled_detail, name="unenrolled_item"),
    path("unenrolled/<int:pk>/feedback/", views.unenrolled_feedback, name="unenrolled_feedback"),
    path("newborns/", views.newborns, name="newborns"),
    path("newborns/export.xlsx", views.newborns_export, name="newborns_export"),
]
