from django.urls import path

from fangpin.people import views

app_name = "people"

urlpatterns = [
    path("", views.person_search, name="search"),
    path("export.xlsx", views.persons_export, name="export"),
    path("<int:pk>/", views.person_detail, name="person"),
    path("households/<int:pk>/", views.household_detail, name="household"),
    path("uploads/", views.uploads, name="uploads"),
    path("uploads/export.xlsx", views.uploads_export, name="uploads_export"),
    path("uploads/<int:pk>/", views.upload_detail, name="upload"),
    path("uploads/<int:pk>/rejects.xlsx", views.upload_rejects_xlsx, name="upload_rejects"),
    path("uploads/<int:pk>/original", views.upload_original, name="upload_original"),
    path("uploads/<int:pk>/tagged/", views.upload_tagged, name="upload_tagged"),
]
