from django.urls import path

from fangpin.warnings import views

app_name = "warnings"

urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/visits/<int:visit_pk>/photo", views.visit_photo, name="visit_photo"),
    path("runs/", views.runs, name="runs"),
    path("runs/<int:pk>/<str:department>.xlsx", views.run_list_xlsx, name="run_list"),
]
