"""Routes of the jobs app."""

from django.urls import path

from jobs import views

urlpatterns = [
    path("", views.home, name="home"),
]
