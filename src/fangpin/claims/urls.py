from django.urls import path

from fangpin.claims import views

app_name = "claims"
urlpatterns = [
    path("", views.search, name="search"),
    path("export.xlsx", views.search_export, name="search_export"),
    path("bill/<str:setl_id>/", views.bill, name="bill"),
    path("notices/", views.notices, name="notices"),
    path("notices/export.xlsx", views.notices_export, name="notices_export"),
    path("notices/<int:pk>/", views.notice_detail, name="notice"),
    path("overpaid/", views.overpaid, name="overpaid"),
    path("overpaid/export.xlsx", views.overpaid_export, name="overpaid_export"),
    path("overpaid/<int:pk>/review/", views.overpaid_review, name="overpaid_review"),
    path("imports/", views.imports, name="imports"),
    path("imports/export.xlsx", views.imports_export, name="imports_export"),
    path("imports/<int:pk>/", views.import_detail, name="import"),
    path("imports/<int:pk>/rejects.xlsx", views.import_rejects_xlsx, name="import_rejects"),
]
