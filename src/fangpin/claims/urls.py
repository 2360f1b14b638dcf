from django.urls import path

from fangpin.claims import views

app_name = "claims"
urlpatterns = [
    path("bill/<str:setl_id>/", views.bill, name="bill"),
]
