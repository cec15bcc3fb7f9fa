from django.urls import path

from . import views

app_name = "consents"
urlpatterns = [
    path("cookies.json", views.cookie_register_json, name="cookie_register_json"),
    path("cookies/<str:language>/", views.cookie_register_html, name="cookie_register_html"),
]
