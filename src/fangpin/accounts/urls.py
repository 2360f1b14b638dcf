from django.urls import path

from fangpin.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/totp/", views.login_totp_view, name="login_totp"),
    path("logout/", views.logout_view, name="logout"),
    path("password/", views.password_view, name="password"),
    path("totp/", views.totp_setup_view, name="totp_setup"),
    path("users/", views.users_view, name="users"),
    path("users/<int:pk>/unlock/", views.unlock_view, name="unlock"),
]
